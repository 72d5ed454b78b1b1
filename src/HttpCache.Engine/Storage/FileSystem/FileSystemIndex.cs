namespace HttpCache.Engine.Storage.FileSystem;

/// <summary>What the limits need to know of one entry.</summary>
internal sealed record IndexItem(string Name, string Key, string PrimaryKey, long Size, long LruTicks);

/// <summary>
/// A store's picture of its folder for <see cref="StoreLimits"/>: every entry's size and place in
/// least-recently-used order, with the running totals. Built by one scan, then kept in step under the
/// folder lock: the store applies its own changes, and rescans only the shards the lock file's journal says
/// another store (in this process or another) changed since. Used only under the lock, so never concurrently.
/// </summary>
internal sealed class FileSystemIndex
{
    private readonly Func<int, IEnumerable<IndexItem>> _scanShard;
    private readonly Dictionary<string, IndexItem>?[] _shards = new Dictionary<string, IndexItem>?[FileSystemLease.ShardCount];
    private readonly SortedSet<IndexItem> _lru = new(LruOrder.Instance);
    private bool _loaded;
    private long _epoch;
    private long _seenGeneration;

    public FileSystemIndex(Func<int, IEnumerable<IndexItem>> scanShard) => _scanShard = scanShard;

    public long Entries { get; private set; }

    public long Bytes { get; private set; }

    /// <summary>Catches up with every change the journal records since this index last looked.</summary>
    public void Sync(FileSystemLease lease)
    {
        if (!_loaded || lease.Epoch != _epoch || lease.Generation < _seenGeneration)
        {
            Array.Clear(_shards);
            _lru.Clear();
            Entries = 0;
            Bytes = 0;
            for (var shard = 0; shard < FileSystemLease.ShardCount; shard++)
            {
                Rescan(shard);
            }

            _loaded = true;
            _epoch = lease.Epoch;
        }
        else if (lease.Generation != _seenGeneration)
        {
            for (var shard = 0; shard < FileSystemLease.ShardCount; shard++)
            {
                if (lease.ShardGeneration(shard) > _seenGeneration)
                {
                    Rescan(shard);
                }
            }
        }

        _seenGeneration = lease.Generation;
    }

    /// <summary>Notes that the index holds this lease's own changes too.</summary>
    public void Synced(FileSystemLease lease) => _seenGeneration = lease.Generation;

    /// <summary>After a failure half-way through a change: the next sync starts from a full scan.</summary>
    public void Invalidate() => _loaded = false;

    public void Put(IndexItem item)
    {
        Remove(item.Name);
        var shard = Shard(item.Name);
        shard[item.Name] = item;
        _lru.Add(item);
        Entries++;
        Bytes += item.Size;
    }

    public void Remove(string name)
    {
        if (Shard(name).Remove(name, out var old))
        {
            _lru.Remove(old);
            Entries--;
            Bytes -= old.Size;
        }
    }

    public IndexItem? Find(string name) => Shard(name).GetValueOrDefault(name);

    /// <summary>
    /// The least recently used entries to drop, oldest first, so that the rest is within the limits; never
    /// the entry named <paramref name="keep"/> (the one just written).
    /// </summary>
    public List<IndexItem> Victims(StoreLimits limits, string keep)
    {
        var victims = new List<IndexItem>();
        long entries = Entries, bytes = Bytes;
        foreach (var item in _lru)
        {
            if (!StoreLimitsRules.IsOver(limits, entries, bytes))
            {
                break;
            }

            if (string.Equals(item.Name, keep, StringComparison.Ordinal))
            {
                continue;
            }

            victims.Add(item);
            entries--;
            bytes -= item.Size;
        }

        return victims;
    }

    private Dictionary<string, IndexItem> Shard(string name) =>
        _shards[FileSystemNames.ShardOf(name)] ??= new Dictionary<string, IndexItem>(StringComparer.Ordinal);

    private void Rescan(int shard)
    {
        if (_shards[shard] is { } known)
        {
            foreach (var item in known.Values)
            {
                _lru.Remove(item);
                Entries--;
                Bytes -= item.Size;
            }

            known.Clear();
        }

        foreach (var item in _scanShard(shard))
        {
            Put(item);
        }
    }

    private sealed class LruOrder : IComparer<IndexItem>
    {
        public static readonly LruOrder Instance = new();

        public int Compare(IndexItem? x, IndexItem? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (x is null || y is null)
            {
                return x is null ? -1 : 1;
            }

            var order = x.LruTicks.CompareTo(y.LruTicks);
            if (order == 0)
            {
                order = string.CompareOrdinal(x.Key, y.Key);
            }

            return order != 0 ? order : string.CompareOrdinal(x.Name, y.Name);
        }
    }
}
