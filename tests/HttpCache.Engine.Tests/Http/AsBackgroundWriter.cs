using HttpCache.Engine.Http;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Http;

/// <summary>A store's batch written as the background writer writes it: in a flow marked as background work.</summary>
internal static class AsBackgroundWriter
{
    /// <summary>Writes the batch on a thread-pool thread, as background work; returns how many times it gave way.</summary>
    public static Task<long> SetManyAsync(ICacheStore store, IReadOnlyList<CacheRecord> records) => Task.Run(async () =>
    {
        BackgroundWork.Begin();
        await store.SetManyAsync(records);
        return BackgroundWork.TimesGivenWay;
    });
}
