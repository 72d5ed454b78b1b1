using System.Diagnostics;
using System.Globalization;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;
using Xunit.Abstractions;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Issue 4, "Redis is down or stops mid-run", through the cmdlets in a runspace that imported the staged
/// module: each test runs a redis-server of its own (a free loopback port; stopping it disturbs no other test)
/// and stops it with SHUTDOWN NOSAVE. Every Invoke-CachedWebRequest is still answered by the origin, quickly;
/// the warning stream carries one warning per outage, however many calls it spans; Get-HttpCacheStats counts
/// the errors; and once the server is back the same session caches again.
/// </summary>
public sealed class RedisOutageTests(OriginFixture fixture, ITestOutputHelper output) : IClassFixture<OriginFixture>, IAsyncLifetime
{
    /// <summary>What one request may cost while Redis is down (the store's connect and command timeouts are 1 s).</summary>
    private static readonly TimeSpan PerRequestBound = TimeSpan.FromSeconds(2);

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
        var (path, url) = CounterPath();
        using var ps = PS.Open();
        await ps.Ok("$s = New-HttpCacheSession -Backend Redis -RedisConfiguration $cfg -Namespace $ns", ("cfg", server.Endpoint), ("ns", NewNamespace()));
        try
        {
            var warm = Answers(await FetchAsync(ps, url, 2));
            Assert.Equal([false, true], warm.Select(a => a.FromCache));
            await ps.Ok("$null = Get-HttpCacheStats -Session $s"); // the entry and the counters are in Redis before it goes

            await server.ShutdownAsync();
            var clock = Stopwatch.StartNew();
            var during = await FetchAsync(ps, url, Requests);
            var total = clock.Elapsed;
            var more = await FetchAsync(ps, url, More);
            Report("dead server", during, total);
            Report("still dead", more, null);

            AssertAnsweredByTheOrigin(Answers(during), firstNumber: 2);
            AssertAnsweredByTheOrigin(Answers(more), firstNumber: 2 + Requests);
            var warning = Assert.Single(during.Warnings);
            Assert.Contains("Redis", warning, StringComparison.Ordinal);
            Assert.Empty(more.Warnings); // the same outage, another call: no second warning
            Assert.True(total < TimeSpan.FromSeconds(Requests) / 2, $"{Requests} calls during the outage took {total.TotalMilliseconds:0} ms.");
            Assert.Equal(1 + Requests + More, origin.RequestCount(path));

            // The statistics live in Redis: while it is down, Get-HttpCacheStats reports that the store is
            // unavailable, at once, rather than hanging or inventing figures.
            clock.Restart();
            var statsDuring = await ps.RunAsync("Get-HttpCacheStats -Session $s");
            output.WriteLine($"Get-HttpCacheStats during the outage: {clock.Elapsed.TotalMilliseconds:0} ms; {statsDuring.ErrorIds.FirstOrDefault() ?? statsDuring.TerminatingError?.FullyQualifiedErrorId}");
            Assert.True(clock.Elapsed < PerRequestBound, $"Get-HttpCacheStats took {clock.Elapsed.TotalMilliseconds:0} ms while Redis was down.");
            Assert.Empty(statsDuring.Output);
            Assert.StartsWith("CacheStoreUnavailable,", Assert.Single(statsDuring.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);

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
        var (path, url) = CounterPath();
        using var ps = PS.Open();
        var clock = Stopwatch.StartNew();
        await ps.Ok(
            "$s = New-HttpCacheSession -Backend Redis -RedisConfiguration $cfg -Namespace $ns",
            ("cfg", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"),
            ("ns", NewNamespace()));
        output.WriteLine($"New-HttpCacheSession with no server: {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"New-HttpCacheSession took {clock.Elapsed.TotalMilliseconds:0} ms with no server.");
        try
        {
            var during = await FetchAsync(ps, url, Requests);
            var more = await FetchAsync(ps, url, 2);
            Report("no server yet", during, null);
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

    private (string Path, string Url) CounterPath()
    {
        var path = origin.NewPath("outage");
        origin.Map(path, OriginBehaviors.Counter());
        return (path, origin.Url(path).AbsoluteUri);
    }

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
            Assert.True(answer.Elapsed < PerRequestBound, $"Call {i + 1} took {answer.Elapsed.TotalMilliseconds:0} ms while Redis was down: {answer}");
        }
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

    private void Report(string what, PowerShellResult result, TimeSpan? total) =>
        output.WriteLine($"{what}: {string.Join(", ", Answers(result).Select(a => $"{a.Elapsed.TotalMilliseconds:0} ms"))}"
            + (total is { } t ? $"; {t.TotalMilliseconds:0} ms in all" : string.Empty)
            + $"; {result.Warnings.Count} warning(s)");

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
