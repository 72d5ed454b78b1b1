using System.Diagnostics;
using System.Globalization;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Redis;
using HttpCache.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// A batch of writes goes out pipelined: every entry's commands are sent before any reply comes back. Proven with a
/// barrier, a server whose writes are paused, on a server of its own (a pause would hold up every other test using a
/// shared one).
/// </summary>
public sealed class RedisBatchPipelineTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private RedisServerProcess? server;

    public async Task InitializeAsync() => server = await RedisServerProcess.StartDedicatedAsync();

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_batch_sends_every_entry_before_any_reply_comes_back()
    {
        const int entries = 24;
        // Timeouts longer than the pause: the replies come once the server is unpaused.
        await using var store = new RedisCacheStore(
            server!.Endpoint + ",connectTimeout=10000,asyncTimeout=60000,syncTimeout=60000", "t", null, new FakeTimeProvider(T0));
        await store.SetAsync(Record("warm-up"));
        var before = RedisCallerThreads.Operations(store.Connection);
        var port = server.Port.ToString(CultureInfo.InvariantCulture);

        // The barrier: the server holds every write (scripts included) until it is unpaused.
        await Cli("client", "pause", "60000", "write");
        Task writing;
        long sent;
        try
        {
            writing = ((ICacheStore)store).SetManyAsync(Enumerable.Range(0, entries).Select(i => Record($"k{i:x2}")).ToList());

            // Each entry's index and entry script are sent at once, though the server has answered none. One by one, the
            // first entry's two commands would be all there is until it answers.
            var watch = Stopwatch.StartNew();
            while ((sent = RedisCallerThreads.Operations(store.Connection) - before) < 2 * entries && watch.Elapsed < Deadline)
            {
                await Task.Delay(10);
            }

            Assert.False(writing.IsCompleted);
        }
        finally
        {
            await Cli("client", "unpause");
        }

        Assert.True(sent >= 2 * entries, $"{sent} commands sent before any reply, for {entries} entries");
        await writing;
        Assert.Equal(entries + 1, (await store.GetInventoryAsync()).Entries);
        for (var i = 0; i < entries; i++)
        {
            Assert.NotNull(await store.GetAsync($"k{i:x2}"));
        }

        async Task Cli(params string[] arguments)
        {
            var (exitCode, output) = await RedisServerProcess.RunCliAsync(["-p", port, .. arguments], TimeSpan.FromSeconds(10));
            Assert.True(exitCode == 0 && output.Contains("OK", StringComparison.Ordinal), output);
        }
    }

    private static CacheRecord Record(string key) => new()
    {
        Key = key,
        PrimaryKey = key,
        Method = "GET",
        Uri = "https://example.test/" + key,
        StatusCode = 200,
        CreatedAt = T0,
        Metadata = [1, 2, 3],
        Body = [4, 5, 6],
    };
}
