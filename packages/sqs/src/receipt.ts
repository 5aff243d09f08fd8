/** What identifies one received SQS message to the transport. */
export interface SqsReceipt {
  /** The queue's URL, as the receive used it. */
  readonly queueUrl: string;
  /** The ReceiptHandle of this receive. */
  readonly handle: string;
  /** The SQS MessageId (stable across receives). */
  readonly messageId: string;
  /**
   * Epoch ms until which this consumer holds the message, measured from the receive's reply. Past it the lease counts as lost even if SQS would still accept the
   * handle (AWS may delete with a stale handle, which would remove a new owner's message).
   */
  deadline: number;
}
