using System.Diagnostics;
using System.Globalization;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Redis;
using HttpCache.Testing;
using Xunit.Abstractions;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// Issue 4, "Redis is down or stops mid-run", through a whole session against a real Kestrel origin and a
/// redis-server of each test's own (on a free loopback port, so stopping it disturbs no other test): every
/// request is answered by the origin, one Warning per outage, every failure counted; a dead server's failures
/// come at once (shown by how they failed: refused while disconnected, never a command run into its timeout),
/// a hung server's after the command timeout the store set; when the server is back the same session caches again.
/// </summary>
public sealed class StoreOutageTests(OriginFixture fixture, ITestOutputHelper output) : IClassFixture<OriginFixture>, IAsyncLifetime
{
    /// <summary>How long the multiplexer gets to reconnect after the server is back (its retry waits are at most 2 s).</summary>
    private static readonly TimeSpan RecoveryDeadline = TimeSpan.FromSeconds(20);

    private readonly TestOrigin origin = fixture.Origin;
    private readonly string folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", "outage-" + Guid.NewGuid().ToString("N"));
    private readonly List<RedisServerProcess> servers = [];

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(folder);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }

        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // The temp folder is cleaned by the system.
        }
    }

    [Fact]
    public async Task AnOutageWarnsOnceAndCachingResumesInTheSameSession()
    {
        const int Requests = 10;
        var server = await StartServerAsync(RedisServerProcess.FreePort());
        await using var session = CreateSession(server.Endpoint);
        var (path, url) = origin.NewCounterPath("outage");

        var stored = await FetchAsync(session, url);
        var hit = await FetchAsync(session, url);
        Assert.Equal(CacheReason.Stored, stored.Info.StoreReason);
        Assert.True(hit.Info.FromCache, hit.Describe());
        Assert.Equal(stored.Body, hit.Body);

        await session.FlushAsync(); // what was stored (or queued to be) is in Redis before it goes
        await server.ShutdownAsync();
        var during = new List<Fetched>();
        for (var i = 0; i < Requests; i++)
        {
            during.Add(await FetchAsync(session, url));
        }

        Report("dead server", during, null);
        AssertAnsweredByTheOrigin(during, firstNumber: 2);
        AssertOneWarning(during);
        Assert.All(during.Skip(1), f => Assert.Contains(f.Info.Diagnostics, d => d.EventId == CacheEventId.StoreFailure && d.Level == CacheDiagnosticLevel.Verbose));
        Assert.InRange(session.Counters.Snapshot().Errors, Requests, Requests + 2);
        // Failing fast: once the client knows the server is gone, the store refuses without a round trip.
        AssertRefusedWithoutARoundTrip(during.Skip(1));
        Assert.Equal(1 + Requests, origin.RequestCount(path));

        await server.StartAsync();
        await WaitUntilTheStoreAnswersAsync(session);

        var again = await FetchAsync(session, url);
        var hitAgain = await FetchAsync(session, url);
        Assert.False(again.Info.FromCache, again.Describe());
        Assert.Equal(CacheReason.Stored, again.Info.StoreReason);
        Assert.Contains(again.Info.Diagnostics, d => d.EventId == CacheEventId.StoreFailure && d.Level == CacheDiagnosticLevel.Verbose && d.Message.Contains("works again", StringComparison.Ordinal));
        Assert.DoesNotContain(again.Info.Diagnostics, d => d.Level == CacheDiagnosticLevel.Warning);
        Assert.True(hitAgain.Info.FromCache, hitAgain.Describe());
        Assert.Equal(again.Body, hitAgain.Body);
        Assert.Equal((2 + Requests).ToString(CultureInfo.InvariantCulture), again.Body);
        Assert.Equal(2 + Requests, origin.RequestCount(path));

        // The restarted server saved nothing: what it counts now is what the session held back during the outage.
        var statistics = await session.GetStatisticsAsync();
        Assert.Equal(statistics.Session.Errors, statistics.Cumulative.Errors);
        Assert.InRange(statistics.Cumulative.Errors, Requests, Requests + 2);
        Assert.Equal(1, statistics.Inventory.Entries);

        // A second outage is a new one: one warning again.
        await session.FlushAsync(); // what was stored (or queued to be) is in Redis before it goes
        await server.ShutdownAsync();
        var second = new List<Fetched>();
        for (var i = 0; i < 3; i++)
        {
            second.Add(await FetchAsync(session, url));
        }

        Report("second outage", second, null);
        AssertAnsweredByTheOrigin(second, firstNumber: 3 + Requests);
        AssertOneWarning(second);
    }

    [Fact]
    public async Task ASessionCreatedWhileRedisIsDownAnswersFromTheOriginAndCachesOnceItIsUp()
    {
        const int Requests = 5;
        var port = RedisServerProcess.FreePort();
        await using var session = CreateSession($"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        // Creating the session waits at most the connect timeout the store gave its client, and does not fail.
        var options = StackExchange.Redis.ConfigurationOptions.Parse(Assert.IsType<RedisCacheStore>(session.Store).Connection.Configuration);
        Assert.Equal(RedisCacheStore.DefaultConnectTimeout, TimeSpan.FromMilliseconds(options.ConnectTimeout));
        Assert.False(options.AbortOnConnectFail);
        var (path, url) = origin.NewCounterPath("outage");

        var during = new List<Fetched>();
        for (var i = 0; i < Requests; i++)
        {
            during.Add(await FetchAsync(session, url));
        }

        Report("never connected", during, null);
        AssertAnsweredByTheOrigin(during, firstNumber: 1);
        AssertOneWarning(during);
        Assert.InRange(session.Counters.Snapshot().Errors, Requests, Requests + 2);
        // Never connected: every request is refused without a round trip, none waits for a timeout.
        AssertRefusedWithoutARoundTrip(during);

        await StartServerAsync(port);
        await WaitUntilTheStoreAnswersAsync(session);

        var stored = await FetchAsync(session, url);
        var hit = await FetchAsync(session, url);
        Assert.Equal(CacheReason.Stored, stored.Info.StoreReason);
        Assert.Contains(stored.Info.Diagnostics, d => d.EventId == CacheEventId.StoreFailure && d.Message.Contains("works again", StringComparison.Ordinal));
        Assert.True(hit.Info.FromCache, hit.Describe());
        Assert.Equal((Requests + 1).ToString(CultureInfo.InvariantCulture), hit.Body);
        Assert.Equal(Requests + 1, origin.RequestCount(path));

        var statistics = await session.GetStatisticsAsync();
        Assert.Equal(statistics.Session.Errors, statistics.Cumulative.Errors);
        Assert.Equal(1, statistics.Cumulative.Hits);
    }

    /// <summary>
    /// A server that hangs (SIGSTOP: the connection stays open, nothing answers) is the slow kind of outage: a
    /// request may wait for the command timeout (<see cref="RedisCacheStore.DefaultCommandTimeout"/>), but no
    /// longer, and still only one warning is written.
    /// </summary>
    /// <remarks>
    /// StackExchange.Redis checks async timeouts on its heartbeat (once a second unless
    /// <c>ConfigurationOptions.HeartbeatInterval</c> says otherwise), so with the default heartbeat a 1 s
    /// timeout fires after up to 2 s: this test holds the store to its documented bound.
    /// </remarks>
    [UnixFact] // SIGSTOP/SIGCONT: POSIX only, so not even discovered on Windows.
    public async Task AHungServerCostsEachRequestAtMostTheCommandTimeout()
    {
        // Six: where a command's timeout fires late, it does so at a random point of the heartbeat, so several tries make it show.
        const int Requests = 6;
        var server = await StartServerAsync(RedisServerProcess.FreePort());
        var pid = await ServerPidAsync(server);
        await using var session = CreateSession(server.Endpoint);
        var (path, url) = origin.NewCounterPath("outage");
        var stored = await FetchAsync(session, url);
        Assert.Equal(CacheReason.Stored, stored.Info.StoreReason);

        await session.FlushAsync(); // the entry is in Redis before it hangs
        await SignalAsync("STOP", pid);
        var during = new List<Fetched>();
        try
        {
            for (var i = 0; i < Requests; i++)
            {
                during.Add(await FetchAsync(session, url));
            }
        }
        finally
        {
            await SignalAsync("CONT", pid);
        }

        Report("hung server", during, null);
        // What ended each wait: the command timeout the store set (the client's own message names it), or, once
        // the client gave the hung connection up, the cancellation of what was in flight, a read racing the
        // connection's teardown (its pipe's reader already completed), and then the refusal of what came after.
        // The first request always meets the timeout.
        var timeout = $"timeout is {RedisCacheStore.DefaultCommandTimeout.TotalMilliseconds:0}ms";
        string[] ends = [timeout, "A task was canceled", "Reading is not allowed after reader was completed", "not connected to the server"];
        Assert.All(during, f => Assert.True(
            f.Info.Diagnostics.Where(d => d.EventId == CacheEventId.StoreFailure).All(d => ends.Any(e => d.Message.Contains(e, StringComparison.Ordinal))),
            f.Describe()));
        Assert.Contains(during[0].Info.Diagnostics, d => d.EventId == CacheEventId.StoreFailure && d.Message.Contains(timeout, StringComparison.Ordinal));
        // ...and the wall clock is the promise here, so it is checked too, with room for a loaded machine: a
        // request that waited for two timeouts, or for the server, would take far longer than this.
        var bound = RedisCacheStore.DefaultCommandTimeout * 4;
        Assert.All(during, f => Assert.True(f.Elapsed < bound, $"A request took {f.Elapsed.TotalMilliseconds:0} ms against a hung server (bound {bound.TotalMilliseconds:0} ms).{Environment.NewLine}{f.Describe()}"));
        AssertAnsweredByTheOrigin(during, firstNumber: 2, timeoutsExpected: true);
        AssertOneWarning(during);
        Assert.Equal(1 + Requests, origin.RequestCount(path));

        await WaitUntilTheStoreAnswersAsync(session);
        var after = await FetchAsync(session, url);
        Assert.Contains(after.Info.Diagnostics, d => d.EventId == CacheEventId.StoreFailure && d.Message.Contains("works again", StringComparison.Ordinal));
        Assert.True(after.Info.FromCache, after.Describe()); // the server kept its data: the entry stored before is a hit again
        Assert.Equal(stored.Body, after.Body);
    }

    /// <summary>
    /// One primary of a Cluster goes down while the others keep serving their slots (cluster-require-full-coverage
    /// no): one outage, so one warning, although requests to the live primaries keep succeeding in between.
    /// </summary>
    [Fact]
    public async Task APartialClusterOutageWarnsOnce()
    {
        // Enough URLs that some land on the stopped primary, fetched twice so failures and hits interleave.
        const int Urls = 24;
        var nodes = await StartClusterAsync();
        await using var session = CreateSession(string.Join(",", nodes.Select(n => n.Endpoint)));
        var mapped = Enumerable.Range(0, Urls).Select(_ => origin.NewCounterPath("outage")).ToList();
        foreach (var (_, url) in mapped)
        {
            Assert.Equal(CacheReason.Stored, (await FetchAsync(session, url)).Info.StoreReason);
        }

        await session.FlushAsync(); // what was stored (or queued to be) is in Redis before it goes
        await nodes[1].ShutdownAsync();
        var during = new List<Fetched>();
        foreach (var (_, url) in mapped.Concat(mapped))
        {
            during.Add(await FetchAsync(session, url));
        }

        var failed = during.Where(f => f.Info.Reason == CacheReason.BypassStoreFailure).ToList();
        output.WriteLine($"one primary down: {during.Count(f => f.Info.FromCache)} hits, {failed.Count} answered around the failure, "
            + $"{during.Sum(f => f.Info.Diagnostics.Count(d => d.Level == CacheDiagnosticLevel.Warning))} warning(s); "
            + string.Join(" ", during.Select(f => f.Info.FromCache ? "hit" : f.Info.Diagnostics.Any(d => d.Level == CacheDiagnosticLevel.Warning) ? "WARN" : "fail")));
        Assert.NotEmpty(failed); // the dead primary held some of the entries…
        Assert.Contains(during, f => f.Info.FromCache); // …and the live ones still answer
        AssertNoTimeouts(during);
        Assert.Single(during.SelectMany(f => f.Info.Diagnostics), d => d.Level == CacheDiagnosticLevel.Warning);
    }

    private static void AssertAnsweredByTheOrigin(IReadOnlyList<Fetched> answers, int firstNumber, bool timeoutsExpected = false)
    {
        if (!timeoutsExpected)
        {
            AssertNoTimeouts(answers);
        }

        for (var i = 0; i < answers.Count; i++)
        {
            var answer = answers[i];
            Assert.Equal(200, answer.Status);
            Assert.False(answer.Info.FromCache, answer.Describe());
            Assert.Equal(CacheReason.BypassStoreFailure, answer.Info.Reason);
            Assert.Equal((firstNumber + i).ToString(CultureInfo.InvariantCulture), answer.Body);
        }
    }

    // A dead server fails a request at once: the connection breaks under the command, or the store refuses it
    // before sending. A failure that waited for the command timeout would say "did not answer in time".
    private static void AssertNoTimeouts(IEnumerable<Fetched> answers) =>
        Assert.All(answers, a => Assert.DoesNotContain(a.Info.Diagnostics, d => d.EventId == CacheEventId.StoreFailure && d.Message.Contains("did not answer in time", StringComparison.Ordinal)));

    // The fast path itself: the store knew it was disconnected and sent nothing.
    private static void AssertRefusedWithoutARoundTrip(IEnumerable<Fetched> answers) =>
        Assert.All(answers, a => Assert.All(
            a.Info.Diagnostics.Where(d => d.EventId == CacheEventId.StoreFailure),
            d => Assert.Contains("not connected to the server", d.Message, StringComparison.Ordinal)));

    private static void AssertOneWarning(IReadOnlyList<Fetched> answers)
    {
        var warnings = answers
            .SelectMany((a, i) => a.Info.Diagnostics.Where(d => d.Level == CacheDiagnosticLevel.Warning).Select(d => (Index: i, d.EventId, d.Message)))
            .ToList();
        var warning = Assert.Single(warnings);
        Assert.Equal(0, warning.Index);
        Assert.Equal(CacheEventId.StoreFailure, warning.EventId);
        Assert.Contains("Redis", warning.Message, StringComparison.Ordinal);
    }

    private void Report(string what, IReadOnlyList<Fetched> answers, TimeSpan? total) =>
        output.WriteLine($"{what}: {string.Join(", ", answers.Select(a => $"{a.Elapsed.TotalMilliseconds:0} ms"))}{(total is { } t ? $"; {t.TotalMilliseconds:0} ms in all" : string.Empty)}");

    private static HttpCacheSession CreateSession(string configuration) => HttpCacheSession.Create(new HttpCacheSessionOptions
    {
        Name = "outage",
        Backend = CacheBackend.Redis,
        RedisConfiguration = configuration,
        Namespace = "outage-" + Guid.NewGuid().ToString("N"),
    });

    private async Task<RedisServerProcess> StartServerAsync(int port, params string[] extra)
    {
        var server = await RedisServerProcess.StartAsync(port, folder, extra);
        servers.Add(server);
        return server;
    }

    /// <summary>Three primaries, no replicas, each slot's owner alone responsible for it (the others keep serving when one is down).</summary>
    private async Task<List<RedisServerProcess>> StartClusterAsync()
    {
        var nodes = new List<RedisServerProcess>();
        for (var i = 0; i < 3; i++)
        {
            var port = RedisServerProcess.FreePort();
            nodes.Add(await StartServerAsync(
                port,
                "--cluster-enabled", "yes",
                "--cluster-config-file", Path.Combine(folder, $"nodes-{port.ToString(CultureInfo.InvariantCulture)}.conf"),
                "--cluster-port", RedisServerProcess.FreePort().ToString(CultureInfo.InvariantCulture),
                "--cluster-node-timeout", "2000",
                "--cluster-require-full-coverage", "no"));
        }

        var (exitCode, text) = await RedisServerProcess.RunCliAsync(
            ["--cluster", "create", .. nodes.Select(n => n.Endpoint), "--cluster-replicas", "0", "--cluster-yes"], TimeSpan.FromSeconds(60));
        Assert.True(exitCode == 0, $"redis-cli --cluster create failed ({exitCode}):\n{text}");
        var deadline = Stopwatch.StartNew();
        foreach (var node in nodes)
        {
            while (true)
            {
                var (_, info) = await RedisServerProcess.RunCliAsync(["-p", node.Port.ToString(CultureInfo.InvariantCulture), "cluster", "info"], TimeSpan.FromSeconds(10));
                if (info.Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    break;
                }

                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"The cluster did not reach cluster_state:ok:\n{info}");
                await Task.Delay(100);
            }
        }

        return nodes;
    }

    /// <summary>Polls the store (not the handler, whose outage state the next request must end) until it answers.</summary>
    private async Task WaitUntilTheStoreAnswersAsync(HttpCacheSession session)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await session.Store.GetCountersAsync();
                output.WriteLine($"the store answered again {clock.Elapsed.TotalMilliseconds:0} ms after the server was back");
                return;
            }
            catch (CacheStoreException ex) when (ex.Failure == CacheStoreFailure.Unavailable && clock.Elapsed < RecoveryDeadline)
            {
                await Task.Delay(50);
            }
        }
    }

    private static async Task<int> ServerPidAsync(RedisServerProcess server)
    {
        var (exitCode, text) = await RedisServerProcess.RunCliAsync(["-p", server.Port.ToString(CultureInfo.InvariantCulture), "info", "server"], TimeSpan.FromSeconds(10));
        var line = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("process_id:", StringComparison.Ordinal));
        Assert.True(exitCode == 0 && line is not null, $"redis-cli info server ({exitCode}):\n{text}");
        return int.Parse(line!["process_id:".Length..], CultureInfo.InvariantCulture);
    }

    private static async Task SignalAsync(string signal, int pid)
    {
        var start = new ProcessStartInfo("kill") { UseShellExecute = false };
        start.ArgumentList.Add("-" + signal);
        start.ArgumentList.Add(pid.ToString(CultureInfo.InvariantCulture));
        using var process = Process.Start(start) ?? throw new InvalidOperationException("kill did not start.");
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
    }

    private static async Task<Fetched> FetchAsync(HttpCacheSession session, string url)
    {
        var clock = Stopwatch.StartNew();
        using var response = await session.SendAsync(new HttpRequestMessage(HttpMethod.Get, url));
        var body = await response.Content.ReadAsStringAsync();
        clock.Stop();
        var info = response.GetCacheInfo() ?? throw new InvalidOperationException("The answer carries no cache info.");
        return new Fetched((int)response.StatusCode, body, info, clock.Elapsed);
    }

    private sealed record Fetched(int Status, string Body, CacheResponseInfo Info, TimeSpan Elapsed)
    {
        public string Describe() =>
            $"{Status} from-cache={Info.FromCache} reason={Info.Reason.ToId()} store={Info.StoreReason?.ToId()} body={Body} in {Elapsed.TotalMilliseconds:0} ms; "
            + string.Join("; ", Info.Diagnostics.Select(d => $"[{d.Level} {d.EventId}] {d.Message}"));
    }
}
