// The shared test fixtures (OriginFixture, TempDirectory, UnixFact, TestOrigin) for every test file, including ones
// written before they moved to HttpCache.TestOrigin.
global using HttpCache.Testing;
