using System.Security.Cryptography;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>The <see cref="ICacheStore"/> contract: parallel callers, large bodies, cancellation.</summary>
public abstract partial class CacheStoreContractTests
{
    [Fact]
    public async Task Parallel_sets_and_gets_from_many_tasks_all_land()
    {
        const int tasks = 16;
        const int entriesEach = 25;

        await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < entriesEach; i++)
            {
                var key = $"t{t}-e{i}";
                await Store.SetAsync(Record(key, primaryKey: $"p{t}", body: key));
                var read = await Store.GetAsync(key);
                Assert.NotNull(read);
                Assert.Equal(key, Text(read.Body));
                Assert.NotEmpty(await Store.GetVariantsAsync($"p{t}"));
            }
        })));

        Assert.Equal(tasks * entriesEach, (await Store.GetInventoryAsync()).Entries);
        for (var t = 0; t < tasks; t++)
        {
            Assert.Equal(entriesEach, (await Store.GetVariantsAsync($"p{t}")).Count);
        }
    }

    [Fact]
    public async Task A_large_body_round_trips_intact()
    {
        var body = RandomNumberGenerator.GetBytes(5 * 1024 * 1024);
        var record = Record("big");
        await Store.SetAsync(new CacheRecord
        {
            Key = record.Key,
            PrimaryKey = record.PrimaryKey,
            Method = record.Method,
            Uri = record.Uri,
            CreatedAt = record.CreatedAt,
            Metadata = record.Metadata,
            Body = body,
        });

        var stored = Assert.Single(await Store.GetVariantsAsync(record.PrimaryKey));

        Assert.True(body.AsSpan().SequenceEqual(stored.Body));
        Assert.Equal(body.Length + record.Metadata.Length, stored.Size);
    }

    [Fact]
    public async Task A_cancelled_token_stops_a_call()
    {
        await Store.SetAsync(Record("k1"));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.GetAsync("k1", cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.RemoveAsync(CacheQuery.All, cancelled.Token));
        Assert.NotNull(await Store.GetAsync("k1"));
    }
}
