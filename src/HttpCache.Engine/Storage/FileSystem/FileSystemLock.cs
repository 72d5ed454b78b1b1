using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace HttpCache.Engine.Storage.FileSystem;

/// <summary>
/// The one writer lock of a cache folder, across threads and processes: a lock file opened with
/// <see cref="FileShare.None"/> (a share mode on Windows, an advisory <c>flock</c> that .NET takes on Unix),
/// retried with short back-offs until the lock timeout. The kernel drops it when a process dies, so a crash
/// never leaves the folder locked. Within one process a semaphore per folder queues the writers, so they
/// never spin against each other on the file.
/// </summary>
/// <remarks>
/// The lock file also carries a change journal that lets a store with limits keep its index of the folder in
/// step with other processes without rescanning it: a random epoch, a generation number bumped by every
/// change, and per shard the generation that last changed it. Setting DOTNET_SYSTEM_IO_DISABLEFILELOCKING
/// turns the Unix lock off, and with it the safety of several processes writing one folder.
/// </remarks>
internal sealed class FileSystemLock
{
    // One per folder and process, shared by every store on that folder; never disposed (they are few and small).
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    private readonly string _path;
    private readonly string _folder;
    private readonly TimeSpan _timeout;
    private readonly SemaphoreSlim _gate;

    /// <param name="folder">The cache folder.</param>
    /// <param name="path">The lock file.</param>
    /// <param name="timeout">How long to wait for the lock.</param>
    /// <param name="shareProcessGate">False gives this lock a semaphore of its own, so only the lock file
    /// arbitrates between it and other stores of this process: tests use it to act as another process.</param>
    public FileSystemLock(string folder, string path, TimeSpan timeout, bool shareProcessGate = true)
    {
        _folder = folder;
        _path = path;
        _timeout = timeout;
        _gate = shareProcessGate ? Gates.GetOrAdd(folder, static _ => new SemaphoreSlim(1, 1)) : new SemaphoreSlim(1, 1);
    }

    /// <summary>Takes the lock, or fails with <see cref="CacheStoreFailure.Locked"/> once the timeout has passed.</summary>
    public async Task<FileSystemLease> AcquireAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        if (!await _gate.WaitAsync(_timeout, cancellationToken).ConfigureAwait(false))
        {
            throw LockedError(null);
        }

        try
        {
            var delay = 1;
            while (true)
            {
                IOException? busy;
                try
                {
                    var stream = OwnerOnly.Open(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
                    try
                    {
                        return new FileSystemLease(stream, _gate);
                    }
                    catch
                    {
                        await stream.DisposeAsync().ConfigureAwait(false);
                        throw;
                    }
                }
                catch (IOException ex) when (IsSharingViolation(ex))
                {
                    busy = ex;
                }
                catch (DirectoryNotFoundException)
                {
                    // The folder was deleted under the store: make it again, as the constructor did.
                    OwnerOnly.CreateDirectory(_folder);
                    continue;
                }

                if (clock.Elapsed >= _timeout)
                {
                    throw LockedError(busy);
                }

                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = Math.Min(delay * 2, 20);
            }
        }
        catch
        {
            _gate.Release();
            throw;
        }
    }

    private CacheStoreException LockedError(Exception? inner) => new(
        string.Create(
            CultureInfo.InvariantCulture,
            $"The HTTP cache folder '{_folder}' stayed locked by another writer for longer than the lock timeout ({_timeout.TotalSeconds:0.###} s)."),
        inner,
        CacheStoreFailure.Locked);

    // Windows reports ERROR_SHARING_VIOLATION / ERROR_LOCK_VIOLATION; .NET on Unix reports the errno of a failed
    // flock(LOCK_NB), EWOULDBLOCK, as the HResult: 11 on Linux, 35 on the BSDs and macOS.
    internal static bool IsSharingViolation(IOException ex) =>
        OperatingSystem.IsWindows()
            ? (ex.HResult & 0xFFFF) is 32 or 33
            : ex.HResult == (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD() ? 35 : 11);
}

/// <summary>
/// The lock, held until disposed, with the change journal read from the lock file. A store calls
/// <see cref="Touch"/> for every shard whose entries it adds, removes or resizes, or whose access times it
/// moves; disposing writes the journal back and releases the lock.
/// </summary>
internal sealed class FileSystemLease : IDisposable
{
    public const int ShardCount = 256;

    // "HCFSLCK1": a lock file of another layout (or cut short) is treated as new and rewritten.
    private const ulong Magic = 0x314B434C53464348;
    private const int EpochOffset = 8;
    private const int GenerationOffset = 16;
    private const int ShardsOffset = 24;
    private const int HeaderLength = ShardsOffset + ShardCount * 8;

    private readonly FileStream _stream;
    private readonly SemaphoreSlim _gate;
    private readonly long[] _shardGenerations = new long[ShardCount];
    private readonly List<int> _touched = [];
    private bool _rewriteAll;
    private bool _disposed;

    public FileSystemLease(FileStream stream, SemaphoreSlim gate)
    {
        _stream = stream;
        _gate = gate;
        var header = new byte[HeaderLength];
        var read = 0;
        while (read < HeaderLength)
        {
            var n = RandomAccess.Read(Handle, header.AsSpan(read), read);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        if (read == HeaderLength && BinaryPrimitives.ReadUInt64LittleEndian(header) == Magic)
        {
            Epoch = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(EpochOffset));
            Generation = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(GenerationOffset));
            for (var i = 0; i < ShardCount; i++)
            {
                _shardGenerations[i] = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(ShardsOffset + (i * 8)));
            }
        }
        else
        {
            // A new journal: a new epoch tells every index built from an older one to start over.
            Epoch = BinaryPrimitives.ReadInt64LittleEndian(RandomNumberGenerator.GetBytes(8));
            _rewriteAll = true;
        }
    }

    /// <summary>Which journal this is; it changes when the lock file is made anew.</summary>
    public long Epoch { get; }

    /// <summary>The generation after every change made so far, this lease's included.</summary>
    public long Generation { get; private set; }

    private SafeFileHandle Handle => _stream.SafeFileHandle;

    /// <summary>The generation that last changed this shard.</summary>
    public long ShardGeneration(int shard) => _shardGenerations[shard];

    /// <summary>Records that this lease changes a shard (one new generation per lease, however many shards).</summary>
    public void Touch(int shard)
    {
        if (_touched.Count == 0)
        {
            Generation++;
        }

        if (_shardGenerations[shard] != Generation)
        {
            _shardGenerations[shard] = Generation;
            _touched.Add(shard);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (_rewriteAll)
            {
                var header = new byte[HeaderLength];
                BinaryPrimitives.WriteUInt64LittleEndian(header, Magic);
                BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(EpochOffset), Epoch);
                BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(GenerationOffset), Generation);
                for (var i = 0; i < ShardCount; i++)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(ShardsOffset + (i * 8)), _shardGenerations[i]);
                }

                RandomAccess.Write(Handle, header, 0);
            }
            else if (_touched.Count > 0)
            {
                Span<byte> value = stackalloc byte[8];
                foreach (var shard in _touched)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(value, Generation);
                    RandomAccess.Write(Handle, value, ShardsOffset + (shard * 8));
                }

                // The generation last: a crash in between leaves shards marked newer than the generation, which
                // still makes every index rescan them.
                BinaryPrimitives.WriteInt64LittleEndian(value, Generation);
                RandomAccess.Write(Handle, value, GenerationOffset);
            }
        }
        finally
        {
            _stream.Dispose();
            _gate.Release();
        }
    }
}
