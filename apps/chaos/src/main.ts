// Placeholder entry point; the chaos runner is being built (issue 13).
console.log('conveyor chaos: not built yet');
