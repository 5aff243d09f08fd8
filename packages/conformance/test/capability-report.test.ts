import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { capabilityReport, capabilityReportChanges, checkCapabilityReports } from '../src/index.js';
import { memoryHarness, restrictedMemoryHarness } from './memory-harness.js';

const REPORT = fileURLToPath(new URL('./capability-report.json', import.meta.url));

describe('capability report', () => {
  // MemoryTransport's claims, pinned like those of every shipped transport.
  it('memory and memory-restricted claim what the committed report says', async () => {
    await checkCapabilityReports(REPORT, [memoryHarness('memory'), restrictedMemoryHarness()]);
  });

  it('a withdrawn claim is reported as the capability that changed and the cases it turned into skips', async () => {
    const committed = await capabilityReport(memoryHarness('memory'));
    const current = await capabilityReport(
      memoryHarness('memory', { restrictCapabilities: { delay: { mode: 'none' } } }),
    );
    const changes = capabilityReportChanges(committed, current);
    expect(changes).toContain('capabilities.delay.mode: "native" → "none"');
    expect(changes).toContain('DEL-01 applied and is now skipped: capabilities.delay.mode is "none"');
    expect(changes).toContain('DEL-02 applied and is now skipped: capabilities.delay.mode is "none"');
    expect(changes).toContain(
      'UNS-01 was skipped (the transport claims every optional feature) and now applies',
    );
    expect(capabilityReportChanges(committed, committed)).toEqual([]);
  });

  it('the check fails naming the harness, the change and how to accept it', async () => {
    const noDelay = memoryHarness('memory', { restrictCapabilities: { delay: { mode: 'none' } } });
    await expect(checkCapabilityReports(REPORT, [noDelay], { update: false })).rejects.toThrow(
      /memory: DEL-01 applied and is now skipped[\s\S]*CONVEYOR_UPDATE_CAPABILITY_REPORTS=1/,
    );
  });
});
