using System.Diagnostics;
using System.Globalization;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;
using Xunit.Abstractions;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Issue 4, "shared for real": separate processes (real pwsh, each importing the staged module, as a
/// user's pwsh would) open sessions on one Redis namespace. What one stores, the other answers from the cache;
/// the counters add up in Redis across them, including those a process left to its exit. Each test uses a
/// namespace of its own and deletes it at the end. The processes run tests/pester/scenarios/RedisSharedCache.ps1.
/// </summary>
public abstract class RedisSharedCacheTestsBase(RedisServersFixture redis, TestOrigin origin, ITestOutputHelper output)
{
    private static string Scenario => Path.Combine(RepoPaths.Root, "tests", "pester", "scenarios", "RedisSharedCache.ps1");

    /// <summary>
    /// Process A fetches (a miss, stored) and ends without Get-HttpCacheStats: by disposing its session, or by
    /// simply exiting (the module flushes open sessions at exit). Process B then gets a hit, and its
    /// Get-HttpCacheStats counts A's miss and store with its own hit.
    /// </summary>
    [Theory]
    [InlineData("Exit")]
    [InlineData("Dispose")]
    public async Task WhatOneProcessStoresTheOtherHits(string end)
    {
        var ns = NewNamespace();
        var (path, url) = origin.NewCounterPath("shared");
        try
        {
            var a = await RunAsync("A", ns, url, expect: "Miss", end: end);
            var b = await RunAsync("B", ns, url, expect: "Hit", stats: true, end: "Dispose");

            Assert.Equal("1", a.Value("FROM-ORIGIN"));
            Assert.Equal("1", a.Value("CONTENTS"));
            Assert.Equal(end, a.Value("ENDED"));
            Assert.Equal("1", b.Value("FROM-CACHE"));
            Assert.Equal("1", b.Value("CONTENTS")); // A's answer, not a new one
            Assert.Equal("fresh-hit", b.Value("REASONS"));
            Assert.Equal(1, origin.RequestCount(path));

            // Cumulative: A's miss and store reached Redis before B read them.
            Assert.Equal("1", b.Value("HITS"));
            Assert.Equal("1", b.Value("MISSES"));
            Assert.Equal("1", b.Value("STORES"));
            Assert.Equal("0", b.Value("ERRORS"));
            Assert.Equal("1", b.Value("ENTRIES"));
            Assert.Equal("1", b.Value("SESSION-HITS"));
            Assert.Equal("0", b.Value("SESSION-MISSES"));
            Assert.Contains(ns + ":counters", await redis.KeysAsync(ns));
        }
        finally
        {
            await redis.DeleteNamespaceAsync(ns);
        }
    }

    /// <summary>
    /// Two processes fetch the same URLs at the same time, then a third reads the statistics: every answer of
    /// both is counted once (HINCRBY is atomic), and the misses are exactly the origin's requests.
    /// </summary>
    [Fact]
    public async Task CountersAddUpAcrossProcessesRunningAtOnce()
    {
        const int Urls = 4;
        const int Rounds = 3;
        var ns = NewNamespace();
        var mapped = Enumerable.Range(0, Urls).Select(_ => origin.NewCounterPath("shared")).ToList();
        var urls = string.Join(",", mapped.Select(m => m.Url));
        try
        {
            var both = await Task.WhenAll(
                RunAsync("A", ns, urls, repeat: Rounds, end: "Exit"),
                RunAsync("B", ns, urls, repeat: Rounds, end: "Dispose"));
            var c = await RunAsync("C", ns, null, stats: true, end: "Dispose");

            var originRequests = mapped.Sum(m => origin.RequestCount(m.Path));
            Assert.All(mapped, m => Assert.InRange(origin.RequestCount(m.Path), 1, 2));
            foreach (var run in both)
            {
                Assert.Equal(Urls * Rounds, Number(run, "FROM-CACHE") + Number(run, "FROM-ORIGIN"));
                Assert.True(Number(run, "FROM-CACHE") >= Urls * (Rounds - 1), "Every round after the first is a hit." + Environment.NewLine + run);
            }

            Assert.Equal(originRequests, both.Sum(r => Number(r, "FROM-ORIGIN")));
            Assert.Equal(2 * Urls * Rounds, Number(c, "HITS") + Number(c, "MISSES"));
            Assert.Equal(both.Sum(r => Number(r, "FROM-CACHE")), Number(c, "HITS"));
            Assert.Equal(originRequests, Number(c, "MISSES"));
            Assert.Equal(originRequests, Number(c, "STORES"));
            Assert.Equal(0, Number(c, "ERRORS"));
            Assert.Equal(Urls, Number(c, "ENTRIES"));
            Assert.Equal(0, Number(c, "SESSION-HITS"));
        }
        finally
        {
            await redis.DeleteNamespaceAsync(ns);
        }
    }

    private static string NewNamespace() => "it-shared-" + Guid.NewGuid().ToString("N");

    private static int Number(ProcessResult run, string key) =>
        int.Parse(run.Value(key) ?? throw new Xunit.Sdk.XunitException($"No {key}= line." + Environment.NewLine + run), CultureInfo.InvariantCulture);

    private async Task<ProcessResult> RunAsync(string label, string ns, string? urls, string expect = "Any", int repeat = 1, bool stats = false, string end = "Exit")
    {
        var arguments = new List<string>
        {
            "-RedisConfiguration", redis.Configuration, "-Namespace", ns, "-Expect", expect,
            "-Repeat", repeat.ToString(CultureInfo.InvariantCulture), "-End", end,
        };
        if (urls is not null)
        {
            arguments.AddRange(["-Uri", urls]);
        }

        if (stats)
        {
            arguments.Add("-Stats");
        }

        using var temp = new TempDirectory();
        var clock = Stopwatch.StartNew();
        // XDG_CACHE_HOME: should anything touch the default session by mistake, it lands in scratch.
        var run = await PwshProcess.RunFileAsync(Scenario, arguments, environment: new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = temp.File("xdg") });
        output.WriteLine($"process {label}: {clock.Elapsed.TotalMilliseconds:0} ms");
        return run.AssertSuccess();
    }
}

/// <summary>Shared for real against one standalone server (HTTPCACHE_REDIS).</summary>
[Collection(RedisStandaloneCollection.Name)]
public sealed class RedisSharedCacheTests(RedisStandaloneFixture redis, OriginFixture origin, ITestOutputHelper output)
    : RedisSharedCacheTestsBase(redis, origin.Origin, output), IClassFixture<OriginFixture>;

/// <summary>Shared for real against a three-primary Cluster (HTTPCACHE_REDIS_CLUSTER).</summary>
[Collection(RedisClusterServersCollection.Name)]
public sealed class RedisClusterSharedCacheTests(RedisClusterServersFixture redis, OriginFixture origin, ITestOutputHelper output)
    : RedisSharedCacheTestsBase(redis, origin.Origin, output), IClassFixture<OriginFixture>;
