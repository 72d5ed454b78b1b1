using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace HttpCache.Engine.Storage.FileSystem;

/// <summary>
/// A store of plain files in one folder, which a user can browse: each entry is a <c>.body</c> file holding the
/// response body exactly as received and a <c>.meta</c> file beside it (readable JSON: the indexed fields, the
/// body's length and hash, and the engine's metadata blob). Safe for many threads and for several processes
/// sharing the folder.
/// </summary>
/// <remarks>
/// <para>
/// Layout: <c>&lt;shard&gt;/&lt;name&gt;.meta</c> and <c>.body</c>, where the name is the key itself for the
/// engine's hex keys (else <c>_</c> and a hash of the key, so no key can steer a path) and the shard folder is
/// its first two hex digits; <c>variants/&lt;shard&gt;/&lt;primary&gt;/&lt;name&gt;</c>, empty files naming the
/// variants of each primary key; <c>counters.json</c>; <c>store.json</c>, the format version; <c>store.lock</c>.
/// </para>
/// <para>
/// Every file is written to a temporary file in the same folder and renamed over the old one, so a reader
/// sees a whole old file or a whole new one. Writers (in any process) take the folder's lock file, one at a
/// time; readers take no lock. A reader that catches a writer between the body and the meta file sees the
/// body's hash disagree and reads again; an entry whose files stay missing, cut short or unreadable reads as
/// missing. The engine's metadata blob is returned as stored: the engine judges it itself.
/// </para>
/// <para>
/// With <see cref="StoreLimits"/>, the store keeps an index of sizes and access order in memory, built by
/// one scan of the folder on the first write and kept in step through a change journal in the lock file, so
/// a write costs no scan; evictions happen under the same lock as the write, and never take the entry just
/// written. Files deleted or edited by hand are noticed by the next store opened on the folder.
/// </para>
/// <para>
/// Streamed bodies (<see cref="IStreamingCacheStore"/>) are written straight into a temporary file in the
/// entry's shard folder, without the lock, hashing as they go; the commit takes the lock and does what any write
/// does, renaming that file into place instead of writing one. The writer holds its temporary file open with
/// no sharing (an exclusive <c>flock</c> on Unix) until the commit, so a cleanup in any process can tell a live
/// writer's file from one a crashed writer left: it deletes only those it can open.
/// </para>
/// </remarks>
public sealed class FileSystemCacheStore : IStreamingCacheStore
{
    /// <summary>How long a write waits for another writer's lock when no lock timeout is given.</summary>
    public static TimeSpan DefaultLockTimeout { get; } = TimeSpan.FromSeconds(5);

    internal const string StoreFileName = "store.json";
    internal const string CountersFileName = "counters.json";
    internal const string LockFileName = "store.lock";
    internal const string VariantsFolderName = "variants";
    internal const string MetaExtension = ".meta";
    internal const string BodyExtension = ".body";
    internal const string TempExtension = ".tmp";

    private const string FormatName = "HttpCache.FileSystem";
    private const int FormatVersion = 1;

    // A reader that meets a writer between its two renames reads again; more attempts than this means the
    // files really disagree (a crash half-way), and the entry reads as missing.
    private const int ReadAttempts = 3;

    // The temporary files of this process's streamed writes in progress. The lock a writer holds on its file
    // keeps other processes' cleanups away from it; this keeps this process's away even without file locks
    // (DOTNET_SYSTEM_IO_DISABLEFILELOCKING).
    private static readonly ConcurrentDictionary<string, byte> LiveTemps = new(
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    private readonly StoreLimits? _limits;
    private readonly FileSystemLock _lock;
    private readonly FileSystemIndex? _index;
    private volatile bool _disposed;

    /// <summary>
    /// Opens the cache folder at <paramref name="directory"/>, creating it when missing. Fails now, rather
    /// than on first use, when the folder cannot hold a cache.
    /// </summary>
    /// <param name="directory">The folder. A relative path is taken from the process's current directory.</param>
    /// <param name="limits">Bounds the folder keeps to by evicting least-recently-used entries after a write;
    /// null or <see cref="StoreLimits.None"/>: unbounded. Each store applies its own limits to its own writes.</param>
    /// <param name="lockTimeout">How long a write waits for the folder's lock held by another writer before it
    /// fails (default <see cref="DefaultLockTimeout"/>).</param>
    /// <exception cref="CacheStoreException">The folder cannot be created or written
    /// (<see cref="CacheStoreFailure.Unwritable"/>), its <c>store.json</c> is damaged or not ours
    /// (<see cref="CacheStoreFailure.Corrupt"/>), or a newer version of HttpCache wrote it.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The lock timeout is not positive, or a bound is below one.</exception>
    public FileSystemCacheStore(string directory, StoreLimits? limits = null, TimeSpan? lockTimeout = null)
        : this(directory, limits, lockTimeout, shareProcessGate: true)
    {
    }

    // shareProcessGate false: this store takes the folder's lock as another process would (see FileSystemLock).
    internal FileSystemCacheStore(string directory, StoreLimits? limits, TimeSpan? lockTimeout, bool shareProcessGate)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var timeout = lockTimeout ?? DefaultLockTimeout;
        if (timeout <= TimeSpan.Zero || timeout.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(lockTimeout), timeout, "The lock timeout must be positive and under 24 days.");
        }

        _limits = StoreLimitsRules.Normalize(limits, nameof(limits));
        Location = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        try
        {
            Directory.CreateDirectory(Location);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CacheStoreException(
                $"The HTTP cache folder '{Location}' cannot be created: {ex.Message}", ex, CacheStoreFailure.Unwritable);
        }

        OpenFormat();
        _lock = new FileSystemLock(Location, Path.Combine(Location, LockFileName), timeout, shareProcessGate);
        _index = _limits is null ? null : new FileSystemIndex(ScanShard);
    }

    /// <inheritdoc />
    public string BackendName => "FileSystem";

    /// <summary>The full path of the cache folder.</summary>
    public string Location { get; }

    /// <inheritdoc />
    public async Task<IReadOnlyList<CacheRecord>> GetVariantsAsync(string primaryKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(primaryKey);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var names = Guarded(() => NamesIn(VariantsFolder(FileSystemNames.Of(primaryKey))));
        if (names.Count == 0)
        {
            return [];
        }

        var variants = new List<CacheRecord>(names.Count);
        foreach (var name in names)
        {
            if (await ReadEntryAsync(name, null, primaryKey, cancellationToken).ConfigureAwait(false) is { } record)
            {
                variants.Add(record);
            }
        }

        return variants;
    }

    /// <inheritdoc />
    public async Task<CacheRecord?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return await ReadEntryAsync(FileSystemNames.Of(key), key, null, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task SetAsync(CacheRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var name = FileSystemNames.Of(record.Key);
        var tooLarge = TooLarge(record, record.Body.Length);
        var meta = MetaOf(record, record.Body.Length, tooLarge ? 0 : XxHash3.HashToUInt64(record.Body), streamed: false);

        // Serialized before the lock is taken: the lock is held only for the file operations.
        var metaBytes = tooLarge ? null : EntryFile.Serialize(meta);
        await WithLockAsync((record, name, meta, metaBytes), (lease, state) =>
        {
            Write(lease, state.record.PrimaryKey, state.name, state.meta, state.metaBytes, path => WriteAtomic(path, state.record.Body));
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The body goes straight into a temporary file beside the entry's files (<c>&lt;name&gt;.body.&lt;32 hex&gt;.tmp</c>),
    /// without the folder's lock; the commit takes the lock and renames it into place with the new meta file.
    /// </remarks>
    public Task<ICacheBodyWriter> BeginWriteAsync(CacheRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Completed<ICacheBodyWriter>(() =>
        {
            ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();
            var name = FileSystemNames.Of(record.Key);
            var bodyPath = BodyPath(name);
            Directory.CreateDirectory(Path.GetDirectoryName(bodyPath)!);
            var temp = bodyPath + "." + Guid.NewGuid().ToString("N") + TempExtension;
            LiveTemps[temp] = 0;
            try
            {
                // No sharing: the open file is the writer's claim on it, against every cleanup (see TryDeleteAbandonedTemp).
                var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 64 * 1024);
                return new FileSystemBodyWriter(this, record, name, temp, stream, _limits);
            }
            catch
            {
                LiveTemps.TryRemove(temp, out _);
                throw;
            }
        });
    }

    /// <inheritdoc />
    /// <remarks>
    /// <para>
    /// The body file itself, opened with <see cref="FileShare.Read"/> | <see cref="FileShare.Delete"/>, so a writer
    /// may replace or delete the entry while it is read: the stream keeps reading the version it opened (on Unix a
    /// rename or delete only unlinks the name; on Windows the share-delete flag is what lets a rename over the file,
    /// or its deletion, succeed while it is open, and the old file lives on until the stream closes).
    /// </para>
    /// <para>
    /// Unlike the other reads, this one takes the folder's lock, for the moment it reads the meta file and opens the
    /// body: then no writer can be between its two renames, so the body opened is exactly the one the meta file
    /// describes (a lock-free reader could meet a writer there and open a body of the same length but another
    /// version, and only find out at the end). The lock is held for microseconds, and only for large bodies, which
    /// are the ones streamed. The bytes are still checked against the meta file's length and hash as they are
    /// read, against files changed by hand: a body that does not match fails with an <see cref="IOException"/> at
    /// its end rather than passing as whole.
    /// </para>
    /// </remarks>
    public async Task<Stream?> OpenBodyAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return await WithLockAsync((name: FileSystemNames.Of(key), key), (_, state) => OpenBodyLocked(state.name, state.key), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// The commit of a streamed write: under the lock, the temporary file is closed (from then on only the lock
    /// keeps cleanups away from it) and renamed into place, then it is a write like any other. The shard's
    /// temporary files that crashed writers left go at the same time.
    /// </summary>
    internal async Task CommitStreamedAsync(CacheRecord record, string name, string temp, long bodyLength, ulong bodyHash, Action closeTemp, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var tooLarge = TooLarge(record, bodyLength);
        var meta = MetaOf(record, bodyLength, bodyHash, streamed: true);
        var metaBytes = tooLarge ? null : EntryFile.Serialize(meta);
        await WithLockAsync((record, name, temp, meta, metaBytes, closeTemp), (lease, state) =>
        {
            state.closeTemp();
            Write(lease, state.record.PrimaryKey, state.name, state.meta, state.metaBytes, path => Rename(state.temp, path));
            DeleteAbandonedTemps(ShardFolder(FileSystemNames.ShardOf(state.name)));
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A streamed write is over (committed or abandoned): its temporary file is no longer protected.</summary>
    internal static void ForgetLiveTemp(string temp) => LiveTemps.TryRemove(temp, out _);

    internal bool TooLarge(CacheRecord record, long bodyLength) =>
        _limits is not null && StoreLimitsRules.TooLargeAlone(_limits, record.Metadata.Length + bodyLength);

    private static EntryMeta MetaOf(CacheRecord record, long bodyLength, ulong bodyHash, bool streamed) => new()
    {
        Key = record.Key,
        PrimaryKey = record.PrimaryKey,
        Method = record.Method,
        Uri = record.Uri,
        StatusCode = record.StatusCode,
        CreatedAt = record.CreatedAt,
        ExpiresAt = record.ExpiresAt,
        KeepUntil = record.KeepUntil,
        HitCount = record.HitCount,
        LastAccessedAt = record.LastAccessedAt,
        Size = record.Metadata.Length + bodyLength,
        BodyLength = bodyLength,
        BodyHash = bodyHash,
        BodyStreamed = streamed,
        Metadata = record.Metadata,
    };

    /// <inheritdoc />
    public async Task<int> RemoveAsync(CacheQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        if (query == CacheQuery.All)
        {
            return await WithLockAsync(0, (lease, _) => Clear(lease), cancellationToken).ConfigureAwait(false);
        }

        // Found without the lock, so a purge of a large folder holds it only for the deletions; each candidate is
        // read again under the lock, so an entry rewritten meanwhile is judged as it now is.
        var candidates = Guarded(() => Scan(query, requireBody: false, cancellationToken).Select(found => found.Name).ToList());
        if (candidates.Count == 0)
        {
            return 0;
        }

        return await WithLockAsync((query, candidates), (lease, state) =>
        {
            _index?.Sync(lease);
            var removed = 0;
            foreach (var name in state.candidates)
            {
                if (ReadMeta(name, withMetadata: false) is { } meta && Belongs(meta, name, state.query.Key, state.query.PrimaryKey)
                    && Matches(state.query, meta))
                {
                    DeleteEntry(lease, name, meta.PrimaryKey);
                    removed++;
                }
            }

            _index?.Synced(lease);
            return removed;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> UpdateExpirationAsync(string key, DateTimeOffset? expiresAt, DateTimeOffset? keepUntil, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return await WithLockAsync((key, expiresAt, keepUntil), (_, update) =>
        {
            var name = FileSystemNames.Of(update.key);
            if (ReadMeta(name, withMetadata: true) is not { } meta || !Belongs(meta, name, update.key, null))
            {
                return false;
            }

            // Neither size nor access order changes: nothing for the journal or the index.
            WriteAtomic(MetaPath(name), EntryFile.Serialize(meta with { ExpiresAt = update.expiresAt, KeepUntil = update.keepUntil }));
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Reads every <c>.meta</c> file the query can match (all of them unless it names a key or a primary key)
    /// when enumeration starts, without the lock; entries changed meanwhile may or may not appear.
    /// </remarks>
    public async IAsyncEnumerable<CacheRecordInfo> ListAsync(
        CacheQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        // The folder has no order of its own: sorting needs every match first.
        var infos = Guarded(() => Scan(query, requireBody: true, cancellationToken)
            .Select(found => found.Meta.ToInfo())
            .OrderBy(info => info.CreatedAt)
            .ThenBy(info => info.Key, StringComparer.Ordinal)
            .ToList());
        foreach (var info in infos)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return info;
        }
    }

    /// <inheritdoc />
    public Task<StoreInventory> GetInventoryAsync(CancellationToken cancellationToken = default) =>
        Completed(() =>
        {
            ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();
            long entries = 0, bytes = 0;
            DateTimeOffset? oldest = null, newest = null;
            foreach (var (_, meta) in Scan(CacheQuery.All, requireBody: true, cancellationToken))
            {
                entries++;
                bytes += meta.Size;
                if (oldest is null || meta.CreatedAt < oldest)
                {
                    oldest = meta.CreatedAt;
                }

                if (newest is null || meta.CreatedAt > newest)
                {
                    newest = meta.CreatedAt;
                }
            }

            return new StoreInventory(entries, bytes, oldest, newest);
        });

    /// <inheritdoc />
    public async Task AddCountersAsync(IReadOnlyDictionary<string, long> deltas, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        if (deltas.Count == 0)
        {
            return;
        }

        await WithLockAsync(deltas, (_, deltas) =>
        {
            AddCounters(deltas, resetIfDamaged: false);
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="CacheStoreException"><c>counters.json</c> is damaged (<see cref="CacheStoreFailure.Corrupt"/>);
    /// <see cref="ClearCountersAsync"/> starts it again.</exception>
    public Task<IReadOnlyDictionary<string, long>> GetCountersAsync(CancellationToken cancellationToken = default) =>
        Completed<IReadOnlyDictionary<string, long>>(() =>
        {
            ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();
            return ReadCounters(resetIfDamaged: false);
        });

    /// <inheritdoc />
    public async Task RecordAccessAsync(IReadOnlyCollection<EntryAccess> accesses, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accesses);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        if (accesses.Count == 0)
        {
            return;
        }

        // One rewrite per entry, however many accesses of it the batch holds.
        var merged = new Dictionary<string, (long Hits, DateTimeOffset LastAccessedAt)>(StringComparer.Ordinal);
        foreach (var access in accesses)
        {
            merged[access.Key] = merged.TryGetValue(access.Key, out var seen)
                ? (seen.Hits + access.Hits, seen.LastAccessedAt > access.LastAccessedAt ? seen.LastAccessedAt : access.LastAccessedAt)
                : (access.Hits, access.LastAccessedAt);
        }

        await WithLockAsync(merged, (lease, merged) =>
        {
            _index?.Sync(lease);
            foreach (var (key, (hits, lastAccessedAt)) in merged)
            {
                var name = FileSystemNames.Of(key);
                if (ReadMeta(name, withMetadata: true) is not { } meta || !Belongs(meta, name, key, null))
                {
                    continue;
                }

                var updated = meta with
                {
                    HitCount = meta.HitCount + hits,
                    LastAccessedAt = meta.LastAccessedAt is { } previous && previous > lastAccessedAt ? previous : lastAccessedAt,
                };
                WriteAtomic(MetaPath(name), EntryFile.Serialize(updated));
                // The access order changed: other stores' indexes must see it.
                lease.Touch(FileSystemNames.ShardOf(name));
                _index?.Put(new IndexItem(name, updated.Key, updated.PrimaryKey, updated.Size, updated.LruTicks));
            }

            _index?.Synced(lease);
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task ClearCountersAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        await WithLockAsync(0, (_, _) =>
        {
            File.Delete(CountersPath);
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Marks the store closed; it holds no file open between calls.</summary>
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        return ValueTask.CompletedTask;
    }

    private string CountersPath => Path.Combine(Location, CountersFileName);

    private string ShardFolder(int shard) => Path.Combine(Location, FileSystemNames.ShardName(shard));

    private string MetaPath(string name) => Path.Combine(ShardFolder(FileSystemNames.ShardOf(name)), name + MetaExtension);

    private string BodyPath(string name) => Path.Combine(ShardFolder(FileSystemNames.ShardOf(name)), name + BodyExtension);

    private string VariantsFolder(string primaryName) =>
        Path.Combine(Location, VariantsFolderName, FileSystemNames.ShardName(FileSystemNames.ShardOf(primaryName)), primaryName);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    // Under the lock: the body (placeBody puts it at the path it is given), then the meta file that vouches for
    // it, each renamed into place.
    private void Write(FileSystemLease lease, string primaryKey, string name, EntryMeta meta, byte[]? metaBytes, Action<string> placeBody)
    {
        _index?.Sync(lease);
        var shard = FileSystemNames.ShardOf(name);
        var old = ReadMeta(name, withMetadata: false);
        if (metaBytes is null)
        {
            // Larger than MaxBytes on its own: not stored, and an older version of it goes, since it was replaced.
            if (old is not null)
            {
                DeleteEntry(lease, name, old.PrimaryKey);
            }

            _index?.Synced(lease);
            return;
        }

        Directory.CreateDirectory(ShardFolder(shard));
        // The variant marker comes first, so a reader that finds the new meta file also finds the marker.
        var primaryName = FileSystemNames.Of(primaryKey);
        var marker = Path.Combine(VariantsFolder(primaryName), name);
        if (!File.Exists(marker))
        {
            Directory.CreateDirectory(VariantsFolder(primaryName));
            new FileStream(marker, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0).Dispose();
        }

        placeBody(BodyPath(name));
        WriteAtomic(MetaPath(name), metaBytes);
        if (old is not null && !string.Equals(old.PrimaryKey, primaryKey, StringComparison.Ordinal))
        {
            DeleteMarker(FileSystemNames.Of(old.PrimaryKey), name);
        }

        lease.Touch(shard);
        if (_index is not null)
        {
            _index.Put(new IndexItem(name, meta.Key, meta.PrimaryKey, meta.Size, meta.LruTicks));
            var victims = _index.Victims(_limits!, name);
            foreach (var victim in victims)
            {
                DeleteEntry(lease, victim.Name, victim.PrimaryKey);
            }

            if (victims.Count > 0)
            {
                // Damaged counters must not fail a write that already happened: they start again.
                AddCounters(new Dictionary<string, long> { [StoreLimitsRules.EvictionsCounter] = victims.Count }, resetIfDamaged: true);
            }

            _index.Synced(lease);
        }
    }

    // Under the lock. The meta file goes first: from then on readers see the entry as missing.
    private void DeleteEntry(FileSystemLease lease, string name, string primaryKey)
    {
        File.Delete(MetaPath(name));
        File.Delete(BodyPath(name));
        DeleteMarker(FileSystemNames.Of(primaryKey), name);
        lease.Touch(FileSystemNames.ShardOf(name));
        _index?.Remove(name);
    }

    private void DeleteMarker(string primaryName, string name)
    {
        var folder = VariantsFolder(primaryName);
        try
        {
            File.Delete(Path.Combine(folder, name));
            if (!Directory.EnumerateFileSystemEntries(folder).Any())
            {
                Directory.Delete(folder);
            }
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
        catch (IOException)
        {
            // Not empty after all: another variant's marker. Markers are written under the lock, so this is rare.
        }
    }

    // Under the lock: every entry file of ours goes (stray temporary files and half entries too), and the
    // variant markers with them. Files that are not ours are left alone.
    private int Clear(FileSystemLease lease)
    {
        var removed = 0;
        foreach (var (shard, folder) in ShardFolders())
        {
            foreach (var path in Directory.EnumerateFiles(folder))
            {
                var fileName = Path.GetFileName(path);
                if (OwnedStem(fileName, out var name, out var kind))
                {
                    if (kind == TempExtension)
                    {
                        // A streamed write in progress keeps its file; it commits into the emptied folder later.
                        TryDeleteAbandonedTemp(path);
                        continue;
                    }

                    if (kind == MetaExtension && ReadMeta(name, withMetadata: false) is { } meta && Belongs(meta, name, null, null))
                    {
                        removed++;
                    }

                    File.Delete(path);
                    lease.Touch(shard);
                }
            }
        }

        var variants = Path.Combine(Location, VariantsFolderName);
        if (Directory.Exists(variants))
        {
            Directory.Delete(variants, recursive: true);
        }

        // The folder is empty of entries now: the next write's sync finds that cheaply.
        _index?.Invalidate();
        return removed;
    }

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

    // The entries a query may match, read from their meta files. With requireBody, an entry whose body file is
    // missing or of the wrong length is left out, as a read of it would find it missing.
    private IEnumerable<(string Name, EntryMeta Meta)> Scan(CacheQuery query, bool requireBody, CancellationToken cancellationToken)
    {
        IEnumerable<string> names = query.Key is not null
            ? [FileSystemNames.Of(query.Key)]
            : query.PrimaryKey is not null
                ? NamesIn(VariantsFolder(FileSystemNames.Of(query.PrimaryKey)))
                : AllNames();

        foreach (var name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (ReadMeta(name, withMetadata: false) is not { } meta || !Belongs(meta, name, query.Key, query.PrimaryKey)
                || !Matches(query, meta))
            {
                continue;
            }

            if (requireBody)
            {
                var body = new FileInfo(BodyPath(name));
                if (!body.Exists || body.Length != meta.BodyLength)
                {
                    continue;
                }
            }

            yield return (name, meta);
        }
    }

    private IEnumerable<string> AllNames()
    {
        foreach (var (_, folder) in ShardFolders())
        {
            IEnumerable<string> files;
            try
            {
                files = Directory.EnumerateFiles(folder).ToList();
            }
            catch (DirectoryNotFoundException)
            {
                continue;
            }

            foreach (var path in files)
            {
                if (OwnedStem(Path.GetFileName(path), out var name, out var kind) && kind == MetaExtension)
                {
                    yield return name;
                }
            }
        }
    }

    private IEnumerable<(int Shard, string Folder)> ShardFolders()
    {
        foreach (var folder in Directory.EnumerateDirectories(Location))
        {
            var shard = FileSystemNames.ParseShard(Path.GetFileName(folder));
            if (shard >= 0)
            {
                yield return (shard, folder);
            }
        }
    }

    // The variant markers in one primary key's folder (none when it does not exist).
    private static List<string> NamesIn(string folder)
    {
        try
        {
            return Directory.EnumerateFiles(folder)
                .Select(Path.GetFileName)
                .Where(name => name is not null && FileSystemNames.IsName(name))
                .ToList()!;
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }

    // Recognizes the files this store writes: "<name>.meta", "<name>.body", and "<name>.<meta|body>.<32 hex>.tmp".
    private static bool OwnedStem(string fileName, out string name, out string kind)
    {
        name = string.Empty;
        kind = string.Empty;
        var rest = fileName;
        if (rest.EndsWith(TempExtension, StringComparison.Ordinal))
        {
            rest = rest[..^TempExtension.Length];
            if (rest.Length < 34 || rest[^33] != '.' || rest.AsSpan(rest.Length - 32).IndexOfAnyExcept("0123456789abcdef") >= 0)
            {
                return false;
            }

            rest = rest[..^33];
            kind = TempExtension;
        }

        string extension;
        if (rest.EndsWith(MetaExtension, StringComparison.Ordinal))
        {
            extension = MetaExtension;
        }
        else if (rest.EndsWith(BodyExtension, StringComparison.Ordinal))
        {
            extension = BodyExtension;
        }
        else
        {
            return false;
        }

        name = rest[..^extension.Length];
        if (kind.Length == 0)
        {
            kind = extension;
        }

        return FileSystemNames.IsName(name);
    }

    private async Task<CacheRecord?> ReadEntryAsync(string name, string? key, string? primaryKey, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var (record, torn) = Guarded(() => TryReadEntry(name, key, primaryKey));
            if (!torn || attempt == ReadAttempts)
            {
                return record;
            }

            // A writer is between renaming the body and the meta file: it is done within moments.
            await Task.Delay(1, cancellationToken).ConfigureAwait(false);
        }
    }

    private (CacheRecord? Record, bool Torn) TryReadEntry(string name, string? key, string? primaryKey)
    {
        if (TryReadFile(MetaPath(name)) is not { } metaBytes
            || EntryFile.TryParse(metaBytes, withMetadata: true) is not { } meta
            || !Belongs(meta, name, key, primaryKey))
        {
            return (null, false);
        }

        if (meta.BodyStreamed)
        {
            // Never loaded here: OpenBodyAsync reads it, checking its hash as it goes. Its length tells a body of
            // another version (a writer between its renames) from this one's.
            var file = new FileInfo(BodyPath(name));
            return !file.Exists ? (null, false)
                : file.Length == meta.BodyLength ? (meta.ToRecord([]), false)
                : (null, true);
        }

        if (TryReadFile(BodyPath(name)) is not { } body)
        {
            return (null, false);
        }

        return body.Length == meta.BodyLength && XxHash3.HashToUInt64(body) == meta.BodyHash
            ? (meta.ToRecord(body), false)
            : (null, true);
    }

    // Under the lock: the meta file and the body it vouches for. A body of another length is half an entry (a
    // crash between renames, a file edited by hand): missing, as GetAsync would find it.
    private Stream? OpenBodyLocked(string name, string key)
    {
        if (ReadMeta(name, withMetadata: false) is not { } meta || !Belongs(meta, name, key, null))
        {
            return null;
        }

        FileStream body;
        try
        {
            body = new FileStream(BodyPath(name), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 0, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        if (body.Length != meta.BodyLength)
        {
            body.Dispose();
            return null;
        }

        return new CheckedBodyStream(body, meta.BodyLength, meta.BodyHash);
    }

    // Under the lock: the temporary files in one folder that no writer holds any more.
    private static void DeleteAbandonedTemps(string folder)
    {
        foreach (var path in Directory.EnumerateFiles(folder, "*" + TempExtension).ToList())
        {
            if (OwnedStem(Path.GetFileName(path), out _, out var kind) && kind == TempExtension)
            {
                TryDeleteAbandonedTemp(path);
            }
        }
    }

    /// <summary>
    /// Under the lock: deletes a temporary file unless a streamed writer still holds it. Writers of whole files
    /// hold the lock while their temporary files exist, so the caller's lock rules them out; a streamed writer
    /// holds its file open without sharing until its commit (under the lock), so a file that opens is provably
    /// abandoned. The probe shares deletion only, so it is refused on Windows (a share mode) as on Unix (an
    /// exclusive flock against its shared one) while the writer has the file.
    /// </summary>
    private static void TryDeleteAbandonedTemp(string path)
    {
        if (LiveTemps.ContainsKey(path))
        {
            return;
        }

        FileStream probe;
        try
        {
            probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Delete, bufferSize: 0);
        }
        catch (IOException ex) when (ex is FileNotFoundException or DirectoryNotFoundException || FileSystemLock.IsSharingViolation(ex))
        {
            return;
        }

        using (probe)
        {
            File.Delete(path);
        }
    }

    private EntryMeta? ReadMeta(string name, bool withMetadata) =>
        TryReadFile(MetaPath(name)) is { } bytes ? EntryFile.TryParse(bytes, withMetadata) : null;

    // A meta file vouches for the entry only if it is the one its name says (a copied or renamed file is not).
    private static bool Belongs(EntryMeta meta, string name, string? key, string? primaryKey) =>
        string.Equals(FileSystemNames.Of(meta.Key), name, StringComparison.Ordinal)
        && (key is null || string.Equals(meta.Key, key, StringComparison.Ordinal))
        && (primaryKey is null || string.Equals(meta.PrimaryKey, primaryKey, StringComparison.Ordinal));

    private static bool Matches(CacheQuery query, EntryMeta meta) =>
        (query.Key is null || string.Equals(meta.Key, query.Key, StringComparison.Ordinal))
        && (query.PrimaryKey is null || string.Equals(meta.PrimaryKey, query.PrimaryKey, StringComparison.Ordinal))
        && (query.ExpiredAsOf is null || (meta.ExpiresAt is { } expiresAt && expiresAt <= query.ExpiredAsOf))
        && (query.CreatedBefore is null || meta.CreatedAt < query.CreatedBefore)
        && (query.CreatedAfter is null || meta.CreatedAt > query.CreatedAfter)
        && (query.KeepUntilAsOf is null || (meta.KeepUntil is { } keepUntil && keepUntil <= query.KeepUntilAsOf));

    // Under the lock. Damaged counters fail loudly unless the caller must not fail (see Write).
    private void AddCounters(IReadOnlyDictionary<string, long> deltas, bool resetIfDamaged)
    {
        var counters = ReadCounters(resetIfDamaged);
        foreach (var (name, delta) in deltas)
        {
            counters[name] = counters.GetValueOrDefault(name) + delta;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in counters.OrderBy(pair => pair.Key, StringComparer.Ordinal))
            {
                writer.WriteNumber(name, value);
            }

            writer.WriteEndObject();
        }

        WriteAtomic(CountersPath, buffer.WrittenSpan);
    }

    private Dictionary<string, long> ReadCounters(bool resetIfDamaged)
    {
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        if (TryReadFile(CountersPath) is not { } bytes)
        {
            return counters;
        }

        try
        {
            var reader = new Utf8JsonReader(bytes);
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("Not an object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                counters[name] = reader.GetInt64();
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                throw new JsonException("Not an object of numbers.");
            }

            return counters;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            if (resetIfDamaged)
            {
                return new Dictionary<string, long>(StringComparer.Ordinal);
            }

            throw new CacheStoreException(
                $"The counters file '{CountersPath}' of the HTTP cache is damaged ({ex.Message}). Clearing the counters starts it again.",
                ex,
                CacheStoreFailure.Corrupt);
        }
    }

    // The folder's format file: written when the folder is new (which also proves it writable), read otherwise.
    private void OpenFormat()
    {
        var path = Path.Combine(Location, StoreFileName);
        try
        {
            if (TryReadFile(path) is not { } bytes)
            {
                WriteAtomic(path, "{ \"format\": \"HttpCache.FileSystem\", \"version\": 1 }\n"u8);
                return;
            }

            var version = ReadFormatVersion(bytes);
            if (version > FormatVersion)
            {
                throw new CacheStoreException(
                    $"The HTTP cache folder '{Location}' was written by a newer version of HttpCache (format {version}; " +
                    $"this version reads format {FormatVersion}). Use a newer HttpCache or another cache folder.",
                    failure: CacheStoreFailure.Other);
            }

            // An existing folder may have turned read-only: find out now, not at the first write.
            new FileStream(
                Path.Combine(Location, "probe." + Guid.NewGuid().ToString("N") + TempExtension),
                FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1, FileOptions.DeleteOnClose).Dispose();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CacheStoreException(
                $"The HTTP cache folder '{Location}' cannot be written: {ex.Message}", ex, CacheStoreFailure.Unwritable);
        }
    }

    private int ReadFormatVersion(byte[] bytes)
    {
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("format", out var format) && format.ValueKind == JsonValueKind.String
                && format.ValueEquals(FormatName)
                && root.TryGetProperty("version", out var version) && version.TryGetInt32(out var number) && number >= 1)
            {
                return number;
            }
        }
        catch (JsonException)
        {
            // Reported below, as any other content that is not ours.
        }

        throw new CacheStoreException(
            $"The folder '{Location}' holds a '{StoreFileName}' that is not an HttpCache file-system store's, or it is damaged.",
            failure: CacheStoreFailure.Corrupt);
    }

    // A whole file, or null when it (or its folder) does not exist. Opened so that a writer may rename over it
    // or delete it meanwhile (FileShare.Delete matters on Windows); the reader keeps the version it opened.
    private static byte[]? TryReadFile(string path)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        using (stream)
        {
            var length = stream.Length;
            if (length > Array.MaxLength)
            {
                throw new IOException($"The file '{path}' is too large to be a cache entry.");
            }

            var buffer = new byte[length];
            var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            return read == buffer.Length ? buffer : buffer[..read];
        }
    }

    // Writes a temporary file beside the target and renames it over the target: readers see all or nothing.
    private static void WriteAtomic(string path, ReadOnlySpan<byte> content)
    {
        var temp = path + "." + Guid.NewGuid().ToString("N") + TempExtension;
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                stream.Write(content);
            }

            Rename(temp, path);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    // On Windows a rename over a file fails while someone (a virus scanner, an editor) holds it open without
    // sharing deletion; such holds are short, so the rename is tried a few times. Elsewhere it cannot fail so.
    internal static void Rename(string source, string destination)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                File.Move(source, destination, overwrite: true);
                return;
            }
            catch (Exception ex) when (OperatingSystem.IsWindows() && attempt < 5 && ex is IOException or UnauthorizedAccessException)
            {
                Thread.Sleep(10 * attempt);
            }
        }
    }

    private async Task<TResult> WithLockAsync<TState, TResult>(
        TState state, Func<FileSystemLease, TState, TResult> work, CancellationToken cancellationToken)
    {
        FileSystemLease lease;
        try
        {
            lease = await _lock.AcquireAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Translate(ex);
        }

        try
        {
            var result = work(lease, state);
            lease.Dispose();
            return result;
        }
        catch (Exception ex)
        {
            // The index may be half-way through the failed change: it starts again from the folder.
            _index?.Invalidate();
            try
            {
                lease.Dispose();
            }
            catch (Exception disposeError) when (disposeError is IOException or UnauthorizedAccessException)
            {
                // The first failure is the one to report.
            }

            if (ex is IOException or UnauthorizedAccessException)
            {
                throw Translate(ex);
            }

            throw;
        }
    }

    // Work without the lock, done on the caller's thread (a thread hop would cost more than the reads); its
    // errors travel in the returned task, as they would from an async method.
    private Task<T> Completed<T>(Func<T> work)
    {
        try
        {
            return Task.FromResult(Guarded(work));
        }
        catch (OperationCanceledException ex)
        {
            return Task.FromCanceled<T>(ex.CancellationToken.IsCancellationRequested ? ex.CancellationToken : new CancellationToken(true));
        }
        catch (Exception ex)
        {
            return Task.FromException<T>(ex);
        }
    }

    private T Guarded<T>(Func<T> work)
    {
        try
        {
            return work();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Translate(ex);
        }
    }

    internal CacheStoreException Translate(Exception ex) => ex is UnauthorizedAccessException || (ex is IOException io && IsOutOfSpaceOrReadOnly(io))
        ? new CacheStoreException(
            $"The HTTP cache folder '{Location}' cannot be written (permissions, a read-only location or a full disk): {ex.Message}",
            ex,
            CacheStoreFailure.Unwritable)
        : new CacheStoreException($"The HTTP cache folder '{Location}' failed: {ex.Message}", ex, CacheStoreFailure.Other);

    // Windows: ERROR_WRITE_PROTECT, ERROR_HANDLE_DISK_FULL, ERROR_DISK_FULL. Unix (.NET reports the errno as the
    // HResult): ENOSPC, EROFS, and EDQUOT (122 on Linux, 69 on the BSDs and macOS).
    private static bool IsOutOfSpaceOrReadOnly(IOException ex) =>
        OperatingSystem.IsWindows()
            ? (ex.HResult & 0xFFFF) is 19 or 39 or 112
            : ex.HResult is 28 or 30 || ex.HResult == (OperatingSystem.IsLinux() ? 122 : 69);
}
