using System.Buffers;
using System.Text.Json;
using HttpCache.Engine.Http;

namespace HttpCache.Engine.Storage.FileSystem;

/// <summary>
/// Writes: whole entries, streamed bodies' commits, clocks, access records and counters, each under the
/// folder's lock; every file is written beside its target and renamed into place.
/// </summary>
public sealed partial class FileSystemCacheStore
{
    /// <inheritdoc />
    public async Task SetAsync(CacheRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var entry = Prepare(record);
        await WithLockAsync(entry, (lease, entry) =>
        {
            Write(lease, entry.Record.PrimaryKey, entry.Name, entry.Meta, entry.MetaBytes, path => WriteAtomic(path, entry.Record.Body));
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    // A whole entry's name, meta and meta file (null when it is too large to store), made before the lock is taken: the
    // lock is held only for the file operations.
    private PreparedEntry Prepare(CacheRecord record)
    {
        var tooLarge = TooLarge(record, record.Body.Length);
        var meta = MetaOf(record, tooLarge ? new BodyChecksum(record.Body.Length, 0, BodyChecksum.Written) : BodyChecksum.Of(record.Body), streamed: false);
        return new PreparedEntry(record, FileSystemNames.Of(record.Key), meta, tooLarge ? null : EntryFile.Serialize(meta));
    }

    private readonly record struct PreparedEntry(CacheRecord Record, string Name, EntryMeta Meta, byte[]? MetaBytes);

    /// <inheritdoc />
    /// <remarks>
    /// The folder's lock is taken once for up to <see cref="LockedBatch"/> entries instead of once an entry (each take
    /// opens the lock file and reads and writes its journal), and hashes and meta files are made before it is taken.
    /// Each entry is still written as <see cref="SetAsync"/> writes it, its files renamed into place. An entry that
    /// fails does not stop the others; the call then throws for the first failure, saying how many failed.
    /// </remarks>
    public async Task SetManyAsync(IReadOnlyList<CacheRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var prepared = new List<PreparedEntry>(records.Count);
        foreach (var record in records)
        {
            ArgumentNullException.ThrowIfNull(record, nameof(records));
            prepared.Add(Prepare(record));
        }

        List<Exception>? failures = null;
        for (var start = 0; start < prepared.Count; start += LockedBatch)
        {
            // Bounded, so a burst of writes does not keep a streamed body's reader (which takes the lock) waiting long.
            var part = prepared.GetRange(start, Math.Min(LockedBatch, prepared.Count - start));
            failures = await WithLockAsync((part, failures), (lease, state) =>
            {
                var failed = state.failures;
                foreach (var (record, name, meta, metaBytes) in state.part)
                {
                    BackgroundWork.GiveWay();
                    try
                    {
                        Write(lease, record.PrimaryKey, name, meta, metaBytes, path => WriteAtomic(path, record.Body));
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        // The index may be half-way through the failed change: it starts again from the folder.
                        _index?.Invalidate();
                        (failed ??= []).Add(ex);
                    }
                }

                return failed;
            }, cancellationToken).ConfigureAwait(false);
        }

        if (failures is null)
        {
            return;
        }

        var first = Translate(failures[0]);
        throw failures.Count == 1 ? first : new CacheStoreException(
            $"{first.Message} ({failures.Count} of {records.Count} writes of a batch failed; the others landed.)", failures[0], first.Failure);
    }

    // Entries written under one take of the folder's lock.
    private const int LockedBatch = 32;

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
            OwnerOnly.CreateDirectory(Path.GetDirectoryName(bodyPath)!);
            var temp = bodyPath + "." + Guid.NewGuid().ToString("N") + TempExtension;
            LiveTemps[temp] = 0;
            try
            {
                // No sharing: the open file is the writer's claim on it, against every cleanup (see TryDeleteAbandonedTemp).
                var stream = OwnerOnly.Open(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 64 * 1024);
                return new FileSystemBodyWriter(this, record, name, temp, stream, _limits);
            }
            catch
            {
                LiveTemps.TryRemove(temp, out _);
                throw;
            }
        });
    }

    /// <summary>
    /// The commit of a streamed write: under the lock, the temporary file is closed (from then on only the lock
    /// keeps cleanups away from it) and renamed into place, then it is a write like any other. The shard's
    /// temporary files that crashed writers left go at the same time.
    /// </summary>
    internal async Task CommitStreamedAsync(CacheRecord record, string name, string temp, BodyChecksum body, Action closeTemp, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var tooLarge = TooLarge(record, body.Length);
        var meta = MetaOf(record, body, streamed: true);
        var metaBytes = tooLarge ? null : EntryFile.Serialize(meta);
        await WithLockAsync((record, name, temp, meta, metaBytes, closeTemp), (lease, state) =>
        {
            state.closeTemp();
            Write(lease, state.record.PrimaryKey, state.name, state.meta, state.metaBytes, path => Rename(state.temp, path));
            DeleteAbandonedTemps(ShardFolder(FileSystemNames.ShardOf(state.name)));
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    internal bool TooLarge(CacheRecord record, long bodyLength) =>
        _limits is not null && StoreLimitsRules.TooLargeAlone(_limits, record.Metadata.Length + bodyLength);

    private static EntryMeta MetaOf(CacheRecord record, BodyChecksum body, bool streamed) => new()
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
        Size = record.Metadata.Length + body.Length,
        Body = body,
        BodyStreamed = streamed,
        Metadata = record.Metadata,
    };

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

    // Under the lock: the body (placeBody puts it at the path it is given), then the meta file that vouches for
    // it, each renamed into place.
    private void Write(FileSystemLease lease, string primaryKey, string name, EntryMeta meta, byte[]? metaBytes, Action<string> placeBody)
    {
        _index?.Sync(lease);
        var shard = FileSystemNames.ShardOf(name);
        // Looked for first: a new entry (most writes) would otherwise pay for a FileNotFoundException.
        var old = File.Exists(MetaPath(name)) ? ReadMeta(name, withMetadata: false) : null;
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

        OwnerOnly.CreateDirectory(ShardFolder(shard));
        if (!string.Equals(meta.Key, primaryKey, StringComparison.Ordinal))
        {
            // The variant marker comes first, so a reader that finds the new meta file also finds the marker. An entry
            // whose key is its primary key needs none: readers look for it by name. Creating files is most of what a
            // write costs (a folder and a file here, for every new primary key), and most entries are such.
            var primaryName = FileSystemNames.Of(primaryKey);
            var marker = Path.Combine(VariantsFolder(primaryName), name);
            if (!File.Exists(marker))
            {
                OwnerOnly.CreateDirectory(VariantsFolder(primaryName));
                OwnerOnly.Open(marker, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0).Dispose();
            }
        }

        placeBody(BodyPath(name));
        // Each file created is kernel time the kernel may not preempt (0.3 ms and more on some disks): in a background
        // batch, a request waiting for the core goes between the two.
        BackgroundWork.GiveWay();
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

    // Writes a temporary file beside the target and renames it over the target: readers see all or nothing.
    private static void WriteAtomic(string path, ReadOnlySpan<byte> content)
    {
        var temp = path + "." + Guid.NewGuid().ToString("N") + TempExtension;
        try
        {
            using (var stream = OwnerOnly.Open(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
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
}
