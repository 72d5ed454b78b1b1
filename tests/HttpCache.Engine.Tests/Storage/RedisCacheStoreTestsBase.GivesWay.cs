using HttpCache.Engine.Storage;
using HttpCache.Engine.Tests.Http;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// A Redis batch written by the background writer gives way to the request path after sending each entry, as SQLite's
/// and FileSystem's batches do (BackgroundWork): its pipelined sends otherwise hold a core while a request's answer waits.
/// </summary>
public abstract partial class RedisCacheStoreTestsBase
{
    [Fact]
    public async Task A_background_batch_gives_way_after_sending_each_entry()
    {
        var store = OpenStore();
        var batch = Enumerable.Range(0, 12).Select(i => Record($"y{i}")).ToList();

        var givenWay = await AsBackgroundWriter.SetManyAsync(store, batch);

        Assert.Equal(batch.Count, givenWay);
        foreach (var record in batch)
        {
            Assert.Equal(record.Body, (await store.GetAsync(record.Key))!.Body);
        }
    }
}
