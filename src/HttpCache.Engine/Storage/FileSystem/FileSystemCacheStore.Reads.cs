using System.Runtime.CompilerServices;
using System.Text.Json;

namespace HttpCache.Engine.Storage.FileSystem;

/// <summary>
/// Reads: entries, streamed bodies, listings, the inventory and the counters. Readers take no lock (but for
/// opening a streamed body); what they find torn between a writer's two renames they read again.
/// </summary>
public sealed partial class FileSystemCacheStore
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<CacheRecord>> GetVariantsAsync(string primaryKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(primaryKey);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var names = Guarded(() => VariantNames(primaryKey));
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
    /// <exception cref="CacheStoreException"><c>counters.json</c> is damaged (<see cref="CacheStoreFailure.Corrupt"/>);
    /// <see cref="ClearCountersAsync"/> starts it again.</exception>
    public Task<IReadOnlyDictionary<string, long>> GetCountersAsync(CancellationToken cancellationToken = default) =>
        Completed<IReadOnlyDictionary<string, long>>(() =>
        {
            ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();
            return ReadCounters(resetIfDamaged: false);
        });

    // The entries a query may match, read from their meta files. With requireBody, an entry whose body file is
    // missing or of the wrong length is left out, as a read of it would find it missing.
    private IEnumerable<(string Name, EntryMeta Meta)> Scan(CacheQuery query, bool requireBody, CancellationToken cancellationToken)
    {
        IEnumerable<string> names = query.Key is not null
            ? [FileSystemNames.Of(query.Key)]
            : query.PrimaryKey is not null
                ? VariantNames(query.PrimaryKey)
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

    // The entries that may be variants of a primary key: the one named after the primary key itself (a response
    // without Vary, whose key is its primary key: nearly every entry), which has no marker, and those the primary
    // key's folder holds markers for. The caller checks each meta file's primary key. Stores written before the
    // self-named entry lost its marker may still have one: it is listed once.
    private List<string> VariantNames(string primaryKey)
    {
        var primaryName = FileSystemNames.Of(primaryKey);
        var names = NamesIn(VariantsFolder(primaryName));
        if (!names.Contains(primaryName, StringComparer.Ordinal) && File.Exists(MetaPath(primaryName)))
        {
            names.Insert(0, primaryName);
        }

        return names;
    }

    // The variant markers in one primary key's folder (none when it does not exist). Looked for first: a miss (or a
    // hit on an entry without markers) would otherwise pay for an exception, tens of microseconds in a new process.
    private static List<string> NamesIn(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return [];
        }

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

    private async Task<CacheRecord?> ReadEntryAsync(string name, string? key, string? primaryKey, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt < ReadAttempts; attempt++)
        {
            var (record, torn) = Guarded(() => TryReadEntry(name, key, primaryKey, asFound: false));
            if (!torn)
            {
                return record;
            }

            // A writer is between renaming the body and the meta file: it is done within moments.
            await Task.Delay(1, cancellationToken).ConfigureAwait(false);
        }

        // Still torn: read once more under the lock, where no writer can be between its renames. Files that
        // disagree then are damage (edited or cut by hand), and the entry is returned as found: the engine's own
        // checksum (in the metadata) tells it is corrupt, counts it and removes it.
        return await WithLockAsync((name, key, primaryKey), (_, s) => TryReadEntry(s.name, s.key, s.primaryKey, asFound: true).Record, cancellationToken)
            .ConfigureAwait(false);
    }

    // asFound (under the lock): files that disagree are returned as they are, for the engine to judge.
    private (CacheRecord? Record, bool Torn) TryReadEntry(string name, string? key, string? primaryKey, bool asFound)
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
                : file.Length == meta.BodyLength || asFound ? (meta.ToRecord([]), false)
                : (null, true);
        }

        if (TryReadFile(BodyPath(name)) is not { } body)
        {
            return (null, false);
        }

        return asFound || meta.Body.Matches(body)
            ? (meta.ToRecord(body), false)
            : (null, true);
    }

    // Under the lock: the meta file and the body it vouches for. No writer can be between its renames now, so a
    // body of another length is damage (a file edited or cut by hand): reported as corrupt, for the engine to remove.
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
            var length = body.Length;
            body.Dispose();
            throw new CacheStoreException(
                $"The cached body file '{BodyPath(name)}' holds {length} bytes; its meta file says {meta.BodyLength}.",
                failure: CacheStoreFailure.Corrupt);
        }

        return new CheckedBodyStream(body, meta.Body);
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
}
