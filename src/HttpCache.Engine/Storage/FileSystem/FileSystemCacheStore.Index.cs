namespace HttpCache.Engine.Storage.FileSystem;

/// <summary>
/// The in-memory index's view of the folder (sizes and access order, for the bounds): one shard read
/// under the lock.
/// </summary>
public sealed partial class FileSystemCacheStore
{
    // The index's view of one shard, read under the lock; temporary files found there are leftovers of a
    // writer that died (writers hold the lock while theirs exist, streamed writers hold theirs open), so they go.
    private IEnumerable<IndexItem> ScanShard(int shard)
    {
        var folder = ShardFolder(shard);
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        foreach (var path in Directory.EnumerateFiles(folder).ToList())
        {
            var fileName = Path.GetFileName(path);
            if (!OwnedStem(fileName, out var name, out var kind))
            {
                continue;
            }

            if (kind == TempExtension)
            {
                TryDeleteAbandonedTemp(path);
            }
            else if (kind == MetaExtension && ReadMeta(name, withMetadata: false) is { } meta && Belongs(meta, name, null, null))
            {
                yield return new IndexItem(name, meta.Key, meta.PrimaryKey, meta.Size, meta.LruTicks);
            }
        }
    }
}
