using HttpCache.Engine.Http;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// The background writer's queue is bounded: a caller that finds it full waits until the writer has made room (the
/// store's pace slows the callers), and no write is ever dropped for want of room. Proved with a store held at a barrier.
/// </summary>
public sealed class WriteBehindBoundTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private static CacheRecord Record(int i, int bodyBytes = 16) => NumberedRecords.Record(i, new byte[bodyBytes]);

    [Fact]
    public async Task A_full_queue_makes_callers_wait_until_the_writer_has_made_room_and_every_write_lands()
    {
        var hold = new TaskCompletionSource();
        var store = new FailingStore { HoldWrites = hold.Task };
        var writes = new WriteBehind(store, maxRecords: 8);

        // Eight fit: the first is taken by a commit the store holds, seven wait behind it.
        for (var i = 0; i < 8; i++)
        {
            Assert.True(writes.EnqueueAsync(Record(i)).IsCompletedSuccessfully);
        }

        var blocked = Enumerable.Range(8, 4).Select(i => writes.EnqueueAsync(Record(i)).AsTask()).ToList();
        await Task.Yield();
        Assert.All(blocked, task => Assert.False(task.IsCompleted));
        Assert.Empty(writes.Pending("key-8"));

        hold.SetResult();
        await Task.WhenAll(blocked).WaitAsync(HangGuard);
        await writes.DrainAsync().WaitAsync(HangGuard);

        for (var i = 0; i < 12; i++)
        {
            Assert.NotNull(await store.GetAsync($"key-{i}"));
        }

        Assert.Equal(12, store.Batches.Sum());
        await writes.StopAsync().WaitAsync(HangGuard);
    }

    [Fact]
    public async Task The_byte_bound_holds_callers_too_but_an_empty_queue_takes_a_record_larger_than_it()
    {
        var hold = new TaskCompletionSource();
        var store = new FailingStore { HoldWrites = hold.Task };
        var writes = new WriteBehind(store, maxBytes: 1000);

        // Larger than the bound alone: taken, since nothing else waits.
        Assert.True(writes.EnqueueAsync(Record(0, bodyBytes: 5000)).IsCompletedSuccessfully);
        var small = writes.EnqueueAsync(Record(1)).AsTask();
        await Task.Yield();
        Assert.False(small.IsCompleted);

        hold.SetResult();
        await small.WaitAsync(HangGuard);
        await writes.DrainAsync().WaitAsync(HangGuard);
        Assert.NotNull(await store.GetAsync("key-0"));
        Assert.NotNull(await store.GetAsync("key-1"));
        await writes.StopAsync().WaitAsync(HangGuard);
    }

    [Fact]
    public async Task A_caller_waiting_for_room_can_be_cancelled_and_its_record_is_not_queued()
    {
        var hold = new TaskCompletionSource();
        var store = new FailingStore { HoldWrites = hold.Task };
        var writes = new WriteBehind(store, maxRecords: 1);
        await writes.EnqueueAsync(Record(0));
        using var cancel = new CancellationTokenSource();

        var waiting = writes.EnqueueAsync(Record(1), cancel.Token).AsTask();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        hold.SetResult();
        await writes.DrainAsync().WaitAsync(HangGuard);
        Assert.NotNull(await store.GetAsync("key-0"));
        Assert.Null(await store.GetAsync("key-1"));
        await writes.StopAsync().WaitAsync(HangGuard);
    }

    [Fact]
    public async Task Failed_writes_give_their_room_back()
    {
        var store = new FailingStore { FailWrites = true };
        var writes = new WriteBehind(store, maxRecords: 2);
        for (var i = 0; i < 6; i++)
        {
            await writes.EnqueueAsync(Record(i)).AsTask().WaitAsync(HangGuard);
        }

        await writes.DrainAsync().WaitAsync(HangGuard);
        Assert.NotNull(writes.TakeFailure());
        await writes.StopAsync().WaitAsync(HangGuard);
    }
}
