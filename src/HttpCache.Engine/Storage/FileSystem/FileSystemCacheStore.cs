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
/// body's hash disagree and reads again, at last under the lock; an entry whose files still disagree then (a
/// body edited or cut by hand) is returned as found, and the engine's checksum finds it corrupt. An entry whose
/// files are missing or unreadable reads as missing. The engine's metadata blob is returned as stored: the
/// engine judges it itself.
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
/// <para>
/// The class is split by concern: this file holds the layout, the names and opening the folder, the lock and
/// the error translation; <c>.Reads.cs</c>, <c>.Writes.cs</c>, <c>.Index.cs</c> and <c>.Cleanup.cs</c> hold the rest.
/// </para>
/// </remarks>
public sealed partial class FileSystemCacheStore : IStreamingCacheStore
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

    // A reader that meets a writer between its two renames reads again; after this many attempts it reads under
    // the lock, where files that still disagree are damage (see ReadEntryAsync).
    private const int ReadAttempts = 3;

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
            OwnerOnly.CreateDirectory(Location);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CacheStoreException(
                $"The HTTP cache folder '{Location}' cannot be created: {ex.Message}", ex, CacheStoreFailure.Unwritable);
        }

        OpenFormat();
        _lock = new FileSystemLock(Location, Path.Combine(Location, LockFileName), timeout, shareProcessGate);
        _index = _limits is null ? null : new FileSystemIndex(ScanShard);
        SweepLeftovers();
    }

    /// <inheritdoc />
    public string BackendName => "FileSystem";

    /// <summary>The full path of the cache folder.</summary>
    public string Location { get; }

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
