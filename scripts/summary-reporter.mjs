// A node:test reporter that prints one closing line: "N passed, N failed, N skipped".
// Counts leaf tests, and a skipped suite (a tier whose server is missing) as
// one skip: its tests never run, so they are never reported one by one. A
// suite whose own code threw (no test of it ran) counts as one failure.
export default async function* summary(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const suite = event.data.details?.type === "suite";
    if (event.data.skip || event.data.todo) skipped++;
    else if (suite && !(event.type === "test:fail" && ownFailure(event))) continue;
    else if (event.type === "test:pass") passed++;
    else failed++;
  }
  yield `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}

function ownFailure(event) {
  return event.data.details?.error?.failureType === "testCodeFailure";
}
