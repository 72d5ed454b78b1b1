using HttpCache.Engine.Http;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Http;

public sealed class WriteBehindTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private static CacheRecord Record(int i) => NumberedRecords.Record(i);

    [Fact]
    public async Task Writes_queued_while_a_commit_runs_go_to_the_store_together_and_all_land()
    {
        var hold = new TaskCompletionSource();
        var store = new FailingStore { HoldWrites = hold.Task };
        var writes = new WriteBehind(store);
        var records = Enumerable.Range(0, 300).Select(Record).ToList();

        foreach (var record in records)
        {
            await writes.EnqueueAsync(record);
        }

        // The first commit is held: everything queued meanwhile is still visible to lookups.
        Assert.All(records, record => Assert.Same(record, Assert.Single(writes.Pending(record.PrimaryKey))));
        hold.SetResult();
        await writes.DrainAsync().WaitAsync(HangGuard);

        // The writer took what arrived first, then the other records in one call, not one call per record.
        Assert.Equal(300, store.Batches.Sum());
        Assert.InRange(store.Batches.Count, 1, 2);
        foreach (var record in records)
        {
            Assert.Equal(record.Body, (await store.GetAsync(record.Key))!.Body);
            Assert.Empty(writes.Pending(record.PrimaryKey));
        }

        await writes.StopAsync().WaitAsync(HangGuard);
    }
}
