using System.Collections.Concurrent;
using HttpCache.Engine.Http;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.FileSystem;
using HttpCache.Engine.Storage.Sqlite;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// The background writer's batches give way to the request path between their entries (a yield per entry), so a
/// request whose answer arrives during a batch does not wait out the writer's time slice; requests themselves never
/// yield (BackgroundWork).
/// </summary>
public sealed class BackgroundWriterGivesWayTests : IDisposable
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);
    private readonly TempDirectory folder = new("gives-way");

    private static CacheRecord Record(int i) => NumberedRecords.Record(i);

    [Fact]
    public async Task The_writer_s_batches_are_background_work_and_its_callers_are_not()
    {
        var seen = new ConcurrentQueue<bool>();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = new FailingStore { HoldWrites = hold.Task, OnBatch = () => seen.Enqueue(BackgroundWork.InBackground) };
        var writes = new WriteBehind(store);

        await writes.EnqueueAsync(Record(1));
        var drained = writes.DrainAsync();
        // Released from another thread: the batch resumes there, and is still background work.
        await Task.Run(hold.SetResult);
        await drained.WaitAsync(HangGuard);
        await writes.StopAsync().WaitAsync(HangGuard);

        Assert.Equal([true, true], seen);
        Assert.False(BackgroundWork.InBackground);
        Assert.Equal(0, BackgroundWork.TimesGivenWay);
    }

    [Fact]
    public async Task An_SQLite_batch_gives_way_before_each_entry()
    {
        await using var store = new SqliteCacheStore(folder.File("cache.sqlite"));
        var records = Enumerable.Range(0, 40).Select(Record).ToList();

        var givenWay = await AsBackgroundWriter.SetManyAsync(store, records);

        Assert.Equal(records.Count, givenWay);
        foreach (var record in records)
        {
            Assert.Equal(record.Body, (await store.GetAsync(record.Key))!.Body);
        }
    }

    [Fact]
    public async Task A_FileSystem_batch_gives_way_before_each_entry_and_between_its_two_files()
    {
        await using var store = new FileSystemCacheStore(folder.File("cache"));
        // More than one take of the folder's lock (32 entries each).
        var records = Enumerable.Range(0, 40).Select(Record).ToList();

        var givenWay = await AsBackgroundWriter.SetManyAsync(store, records);

        Assert.Equal(2 * records.Count, givenWay);
        foreach (var record in records)
        {
            Assert.Equal(record.Body, (await store.GetAsync(record.Key))!.Body);
        }
    }

    [Fact]
    public async Task A_batch_written_outside_background_work_does_not_yield()
    {
        await using var store = new SqliteCacheStore(folder.File("direct.sqlite"));

        await store.SetManyAsync(Enumerable.Range(0, 5).Select(Record).ToList());
        BackgroundWork.GiveWay();

        Assert.False(BackgroundWork.InBackground);
        Assert.Equal(0, BackgroundWork.TimesGivenWay);
    }

    public void Dispose() => folder.Dispose();
}
