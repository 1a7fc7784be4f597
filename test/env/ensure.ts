/** Provisions every real service the tests need. Owned by the test-env work; filled in there. */
export async function ensureAll(): Promise<void> {}
