using System.Diagnostics;
using System.Globalization;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;
using Xunit.Abstractions;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Issue 4, "Redis is down or stops mid-run", through the cmdlets in a runspace that imported the staged
/// module: each test runs a redis-server of its own (a free loopback port; stopping it disturbs no other test)
/// and stops it with SHUTDOWN NOSAVE. Every Invoke-CachedWebRequest is still answered by the origin, at once
/// (shown by how the store failed, not by a clock: never a command run into its timeout, and once the client
/// knows, refused without a round trip); the warning stream carries one warning per outage, however many calls
/// it spans; Get-HttpCacheStats counts the errors; and once the server is back the same session caches again.
/// </summary>
public sealed class RedisOutageTests(OriginFixture fixture, ITestOutputHelper output) : IClassFixture<OriginFixture>, IAsyncLifetime
{
    /// <summary>How long the session's connection gets to come back after the server does.</summary>
    private static readonly TimeSpan RecoveryDeadline = TimeSpan.FromSeconds(20);

    /// <summary>Fetches $u $n times; one line per answer: status|from-cache|milliseconds|content|reason.</summary>
    private const string FetchScript = """
        foreach ($i in 1..$n) {
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            $r = Invoke-CachedWebRequest -Uri $u -Session $s -Verbose:$v
            $clock.Stop()
            '{0}|{1}|{2}|{3}|{4}' -f $r.StatusCode, $r.FromCache, [long]$clock.Elapsed.TotalMilliseconds, $r.Content, $r.Reason
        }
        """;

    private readonly TestOrigin origin = fixture.Origin;
    private readonly List<RedisServerProcess> servers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task AnOutageWarnsOnceAndCachingResumesInTheSameSession()
    {
        const int Requests = 6;
        const int More = 3;
        var server = await StartServerAsync();
        var (path, url) = origin.NewCounterPath("outage");
        using var ps = PS.Open();
        await ps.Ok("$s = New-HttpCacheSession -Backend Redis -RedisConfiguration $cfg -Namespace $ns", ("cfg", server.Endpoint), ("ns", NewNamespace()));
        try
        {
            var warm = Answers(await FetchAsync(ps, url, 2));
            Assert.Equal([false, true], warm.Select(a => a.FromCache));
            await ps.Ok("$null = Get-HttpCacheStats -Session $s"); // the entry and the counters are in Redis before it goes

            await server.ShutdownAsync();
            var during = await FetchAsync(ps, url, Requests, verbose: true);
            var more = await FetchAsync(ps, url, More, verbose: true);
            Report("dead server", during);
            Report("still dead", more);

            AssertAnsweredByTheOrigin(Answers(during), firstNumber: 2);
            AssertAnsweredByTheOrigin(Answers(more), firstNumber: 2 + Requests);
            var warning = Assert.Single(during.Warnings);
            Assert.Contains("Redis", warning, StringComparison.Ordinal);
            Assert.Empty(more.Warnings); // the same outage, another call: no second warning
            AssertNoTimeouts(during);
            AssertRefusedWithoutARoundTrip(more);
            Assert.Equal(1 + Requests + More, origin.RequestCount(path));

            // The statistics live in Redis: while it is down, Get-HttpCacheStats reports that the store is
            // unavailable, at once (refused without a round trip), rather than hanging or inventing figures.
            var statsDuring = await ps.RunAsync("Get-HttpCacheStats -Session $s");
            Assert.Empty(statsDuring.Output);
            var statsError = Assert.Single(statsDuring.Errors);
            Assert.StartsWith("CacheStoreUnavailable,", statsError.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("not connected to the server", statsError.Exception.Message, StringComparison.Ordinal);

            await server.StartAsync();
            await WaitUntilTheStoreAnswersAsync(ps);

            var back = await FetchAsync(ps, url, 2, verbose: true);
            var answers = Answers(back);
            Assert.Equal([false, true], answers.Select(a => a.FromCache));
            Assert.Equal(answers[0].Content, answers[1].Content);
            Assert.Equal((2 + Requests + More).ToString(CultureInfo.InvariantCulture), answers[0].Content);
            Assert.Empty(back.Warnings);
            Assert.Contains(back.Verbose, v => v.Contains("works again", StringComparison.Ordinal));
            Assert.Equal(2 + Requests + More, origin.RequestCount(path));

            // The restarted server saved nothing; the errors the session held back during the outage reach it now.
            var stats = (await ps.Ok("Get-HttpCacheStats -Session $s")).Output.Single();
            Assert.InRange(stats.Prop<long>("Errors"), Requests + More, Requests + More + 2);
            Assert.Equal(2, stats.Prop<long>("SessionHits"));
            Assert.Equal(2 + Requests + More, stats.Prop<long>("SessionMisses"));
            Assert.Equal(1, stats.Prop<long>("Entries"));

            // A new outage warns again, once.
            await server.ShutdownAsync();
            var second = await FetchAsync(ps, url, 2);
            var third = await FetchAsync(ps, url, 2);
            AssertAnsweredByTheOrigin(Answers(second).Concat(Answers(third)).ToList(), firstNumber: 3 + Requests + More);
            Assert.Single(second.Warnings);
            Assert.Empty(third.Warnings);
        }
        finally
        {
            await ps.Ok("$s.Dispose()");
        }
    }

    [Fact]
    public async Task ASessionCreatedWhileRedisIsDownWorksAndCachesOnceRedisIsUp()
    {
        const int Requests = 4;
        var port = RedisServerProcess.FreePort();
        var (path, url) = origin.NewCounterPath("outage");
        using var ps = PS.Open();
        // Quick by construction: the session's client waits at most its 1 s connect timeout, and does not fail.
        var configuration = (await ps.Ok(
            "$s = New-HttpCacheSession -Backend Redis -RedisConfiguration $cfg -Namespace $ns; $s.RedisConnection.Configuration",
            ("cfg", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"),
            ("ns", NewNamespace()))).Output.Single().ToString();
        Assert.Contains("connectTimeout=1000", configuration, StringComparison.Ordinal);
        Assert.Contains("abortConnect=False", configuration, StringComparison.Ordinal);
        try
        {
            var during = await FetchAsync(ps, url, Requests, verbose: true);
            var more = await FetchAsync(ps, url, 2, verbose: true);
            Report("no server yet", during);
            AssertRefusedWithoutARoundTrip(during);
            AssertRefusedWithoutARoundTrip(more);
            AssertAnsweredByTheOrigin(Answers(during), firstNumber: 1);
            AssertAnsweredByTheOrigin(Answers(more), firstNumber: 1 + Requests);
            Assert.Single(during.Warnings);
            Assert.Empty(more.Warnings);

            await StartServerAsync(port);
            await WaitUntilTheStoreAnswersAsync(ps);

            var up = await FetchAsync(ps, url, 2, verbose: true);
            var answers = Answers(up);
            Assert.Equal([false, true], answers.Select(a => a.FromCache));
            Assert.Equal((Requests + 3).ToString(CultureInfo.InvariantCulture), answers[1].Content);
            Assert.Contains(up.Verbose, v => v.Contains("works again", StringComparison.Ordinal));
            Assert.Empty(up.Warnings);
            Assert.Equal(Requests + 3, origin.RequestCount(path));

            var stats = (await ps.Ok("Get-HttpCacheStats -Session $s")).Output.Single();
            Assert.InRange(stats.Prop<long>("Errors"), Requests + 2, Requests + 4);
            Assert.Equal(1, stats.Prop<long>("Hits"));
            Assert.Equal(Requests + 3, stats.Prop<long>("Misses"));
        }
        finally
        {
            await ps.Ok("$s.Dispose()");
        }
    }

    private static string NewNamespace() => "it-outage-" + Guid.NewGuid().ToString("N");

    private async Task<RedisServerProcess> StartServerAsync(int? port = null)
    {
        var server = await RedisServerProcess.StartDedicatedAsync(port);
        servers.Add(server);
        return server;
    }

    private static Task<PowerShellResult> FetchAsync(PowerShellSession ps, string url, int times, bool verbose = false) =>
        ps.Ok(FetchScript, ("u", url), ("n", times), ("v", verbose));

    private static List<Answer> Answers(PowerShellResult result) =>
        result.Output.Select(o => Answer.Parse((string)o.BaseObject)).ToList();

    private static void AssertAnsweredByTheOrigin(IReadOnlyList<Answer> answers, int firstNumber)
    {
        for (var i = 0; i < answers.Count; i++)
        {
            var answer = answers[i];
            Assert.Equal(200, answer.Status);
            Assert.False(answer.FromCache, answer.ToString());
            Assert.Equal("bypass-store-failure", answer.Reason);
            Assert.Equal((firstNumber + i).ToString(CultureInfo.InvariantCulture), answer.Content);
        }
    }

    // A dead server fails a call at once: the connection breaks under the command, or the store refuses it before
    // sending. A failure that waited for the command timeout would say "did not answer in time".
    private static void AssertNoTimeouts(PowerShellResult result) =>
        Assert.DoesNotContain(result.Verbose.Concat(result.Warnings), m => m.Contains("did not answer in time", StringComparison.Ordinal));

    // The fast path itself: every failure explained was the store refusing, knowing it was disconnected.
    private static void AssertRefusedWithoutARoundTrip(PowerShellResult result)
    {
        var failures = result.Verbose.Concat(result.Warnings).Where(m => m.Contains("Redis cache", StringComparison.Ordinal) && m.Contains("the origin answers", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(failures);
        Assert.All(failures, m => Assert.Contains("not connected to the server", m, StringComparison.Ordinal));
    }

    /// <summary>Polls Get-HttpCacheStats (it needs the store) until it answers; the session's own outage state is left for the next request to end.</summary>
    private async Task WaitUntilTheStoreAnswersAsync(PowerShellSession ps)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var probe = await ps.RunAsync("try { $null = Get-HttpCacheStats -Session $s -ErrorAction Stop; 'up' } catch { 'down' }");
            if (probe.Output.Count == 1 && (string)probe.Output[0].BaseObject == "up")
            {
                output.WriteLine($"the store answered again {clock.Elapsed.TotalMilliseconds:0} ms after the server was back");
                return;
            }

            Assert.True(clock.Elapsed < RecoveryDeadline, $"The session's store did not answer within {RecoveryDeadline} of the server's return.{Environment.NewLine}{probe}");
            await Task.Delay(100);
        }
    }

    private void Report(string what, PowerShellResult result) =>
        output.WriteLine($"{what}: {string.Join(", ", Answers(result).Select(a => $"{a.Elapsed.TotalMilliseconds:0} ms"))}; {result.Warnings.Count} warning(s)");

    private sealed record Answer(int Status, bool FromCache, TimeSpan Elapsed, string Content, string Reason)
    {
        public static Answer Parse(string line)
        {
            var parts = line.Split('|');
            return new Answer(
                int.Parse(parts[0], CultureInfo.InvariantCulture),
                bool.Parse(parts[1]),
                TimeSpan.FromMilliseconds(long.Parse(parts[2], CultureInfo.InvariantCulture)),
                parts[3],
                parts[4]);
        }
    }
}
