using System.Diagnostics;
using System.Globalization;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Redis;
using StackExchange.Redis;

using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>The contract and the Redis behaviour against one standalone server (HTTPCACHE_REDIS).</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisCacheStoreTests(RedisFixture redis) : RedisCacheStoreTestsBase(redis)
{
    private static readonly TimeSpan ComeBackDeadline = TimeSpan.FromSeconds(30);

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", "redis-outage-" + Guid.NewGuid().ToString("N"));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task Location_shows_the_endpoint_and_never_the_password()
    {
        // The server has no password: the store fails to authenticate, which does not matter here.
        await using var store = new RedisCacheStore($"{Redis.Configuration},password=hunter2-secret,connectTimeout=200", Namespace);

        Assert.Contains(Redis.Configuration, store.Location, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", store.Location, StringComparison.Ordinal);
    }

    [Fact]
    public void A_configuration_string_that_does_not_parse_is_refused_without_echoing_it()
    {
        var error = Assert.Throws<ArgumentException>(() => new RedisCacheStore("127.0.0.1:1,password=hunter2,nonsenseOption=1"));

        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stopped_server_fails_every_call_fast_and_the_same_store_works_when_it_is_back()
    {
        Directory.CreateDirectory(_folder);
        var port = RedisServerProcess.FreePort();
        await using var server = await RedisServerProcess.StartAsync(port, _folder);
        await using var store = new RedisCacheStore($"127.0.0.1:{port}", Namespace);
        await store.SetAsync(Record("k1", primaryKey: "P"));
        Assert.NotNull(await store.GetAsync("k1"));

        await server.KillAsync();

        // Twice: right after the crash (the client may not know yet) and once it knows. "Fast" is shown by how each
        // call failed, not by a clock: the connection broke under it, or the store refused it before sending
        // anything; never a command left to run into its timeout.
        for (var round = 0; round < 2; round++)
        {
            foreach (var (name, call) in Calls(store))
            {
                var error = await Assert.ThrowsAsync<CacheStoreException>(call);

                Assert.Equal(CacheStoreFailure.Unavailable, error.Failure);
                Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
                Assert.False(error.InnerException is RedisTimeoutException, $"{name} ran into its timeout (round {round}): {error.Message}");
                Assert.DoesNotContain("did not answer in time", error.Message, StringComparison.Ordinal);
            }
        }

        // Once the client knows, every call is refused without a round trip.
        foreach (var (name, call) in Calls(store))
        {
            var error = await Assert.ThrowsAsync<CacheStoreException>(call);
            Assert.True(error.Message.Contains("not connected to the server", StringComparison.Ordinal), $"{name}: {error.Message}");
        }

        // Back, empty (nothing is saved): the same instance reconnects by itself.
        await server.StartAsync();
        await WaitUntilWorksAsync(() => store.SetAsync(Record("k2", primaryKey: "P", body: "after")));

        Assert.Equal("k2", Assert.Single(await store.GetVariantsAsync("P")).Key);
        Assert.NotNull(await store.GetAsync("k2"));
        Assert.Equal(1, (await store.GetInventoryAsync()).Entries);
        await store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 1 });
        Assert.Equal(1, (await store.GetCountersAsync())["hits"]);
        Assert.Equal(1, await store.RemoveAsync(CacheQuery.All));
    }

    [Fact]
    public async Task A_store_made_while_the_server_is_down_is_made_quickly_and_works_once_it_is_up()
    {
        Directory.CreateDirectory(_folder);
        var port = RedisServerProcess.FreePort();

        await using var store = new RedisCacheStore($"127.0.0.1:{port}", Namespace);

        // Quick by construction, not by a stopwatch: the constructor waits at most the connect timeout the store
        // gave the client, and does not fail (abortConnect=false); a call while disconnected is refused before
        // any round trip.
        var options = ConfigurationOptions.Parse(store.Connection.Configuration);
        Assert.Equal(RedisCacheStore.DefaultConnectTimeout, TimeSpan.FromMilliseconds(options.ConnectTimeout));
        Assert.Equal(RedisCacheStore.DefaultCommandTimeout, TimeSpan.FromMilliseconds(options.AsyncTimeout));
        Assert.False(options.AbortOnConnectFail);
        var error = await Assert.ThrowsAsync<CacheStoreException>(() => store.GetVariantsAsync("P"));
        Assert.Equal(CacheStoreFailure.Unavailable, error.Failure);
        Assert.Contains("not connected to the server", error.Message, StringComparison.Ordinal);

        await using var server = await RedisServerProcess.StartAsync(port, _folder);
        await WaitUntilWorksAsync(() => store.SetAsync(Record("k1", primaryKey: "P")));
        Assert.Single(await store.GetVariantsAsync("P"));
    }

    [Fact]
    public async Task Scripts_flushed_from_the_server_are_sent_again()
    {
        Directory.CreateDirectory(_folder);
        var port = RedisServerProcess.FreePort();
        await using var server = await RedisServerProcess.StartAsync(port, _folder);
        await using var store = new RedisCacheStore($"127.0.0.1:{port}", Namespace);
        await store.SetAsync(Record("k1", primaryKey: "P"));
        Assert.Single(await store.GetVariantsAsync("P"));

        var (exitCode, output) = await RedisServerProcess.RunCliAsync(["-p", port.ToString(CultureInfo.InvariantCulture), "script", "flush"], TimeSpan.FromSeconds(10));
        Assert.True(exitCode == 0, output);

        Assert.Single(await store.GetVariantsAsync("P"));
        await store.SetAsync(Record("k2", primaryKey: "P"));
        Assert.Equal(2, (await store.GetVariantsAsync("P")).Count);
    }

    private static IEnumerable<(string Name, Func<Task> Call)> Calls(RedisCacheStore store) =>
    [
        ("GetVariants", () => store.GetVariantsAsync("P")),
        ("Get", () => store.GetAsync("k1")),
        ("Set", () => store.SetAsync(Record("k3", primaryKey: "P"))),
        ("Remove", () => store.RemoveAsync(new CacheQuery { Key = "k1" })),
        ("RemoveAll", () => store.RemoveAsync(CacheQuery.All)),
        ("UpdateExpiration", () => store.UpdateExpirationAsync("k1", null, null)),
        ("List", async () => await ToListAsync(store.ListAsync(CacheQuery.All))),
        ("Inventory", () => store.GetInventoryAsync()),
        ("AddCounters", () => store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 1 })),
        ("GetCounters", () => store.GetCountersAsync()),
        ("RecordAccess", () => store.RecordAccessAsync([new EntryAccess("k1", 1, T0)])),
        ("ClearCounters", () => store.ClearCountersAsync()),
    ];

    // Polls until a call succeeds: waiting for a server to come up, never for time to pass.
    private static async Task WaitUntilWorksAsync(Func<Task> call)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await call();
                return;
            }
            catch (CacheStoreException) when (watch.Elapsed < ComeBackDeadline)
            {
                await Task.Delay(50);
            }
        }
    }
}
