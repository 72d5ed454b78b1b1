namespace HttpCache.Engine.Storage.FileSystem;

/// <summary>
/// One streamed write into a <see cref="FileSystemCacheStore"/>: the body goes into a temporary file as it
/// arrives, its checksum computed on the way (the meta file's, without reading the file again). Calls are
/// serialized, so a dispose from another thread (the engine's abandon) waits for a write in progress.
/// </summary>
internal sealed class FileSystemBodyWriter : ICacheBodyWriter, IChecksummingBodyWriter
{
    private readonly FileSystemCacheStore _store;
    private CacheRecord _record;
    private readonly string _name;
    private readonly string _temp;
    private readonly StoreLimits? _limits;
    private readonly BodyChecksum.Builder _checksum = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private FileStream? _stream;
    private long _length;
    private bool _tooLarge;
    private int _state; // 0 writing, 1 committed, 2 abandoned

    public FileSystemBodyWriter(FileSystemCacheStore store, CacheRecord record, string name, string temp, FileStream stream, StoreLimits? limits)
    {
        _store = store;
        _record = record;
        _name = name;
        _temp = temp;
        _stream = stream;
        _limits = limits;
    }

    /// <inheritdoc />
    public BodyChecksum Checksum => _checksum.Current with { Length = _length };

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDone();
            _length += data.Length;
            if (_tooLarge)
            {
                return;
            }

            if (_limits is not null && _store.TooLarge(_record, _length))
            {
                // It can never be stored: nothing more is written, and the file goes now. The commit then removes
                // the entry this write would have replaced, as SetAsync does for an entry too large.
                _tooLarge = true;
                CloseAndDeleteTemp();
                return;
            }

            _checksum.Append(data.Span);
            // In place, as the reads: the temp file is local and opened for synchronous I/O, so WriteAsync would
            // only move each write to a thread-pool thread.
            _stream!.Write(data.Span);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw _store.Translate(ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task CommitAsync(byte[]? metadata = null, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDone();
            if (metadata is not null)
            {
                _record = _record.WithMetadata(metadata);
            }

            if (_stream is not null)
            {
                // Flushed before the lock is taken: the lock is held only for the renames.
                _stream.Flush();
            }

            // The length counts what was not written once the body was too large: the commit must see it.
            await _store.CommitStreamedAsync(_record, _name, _temp, Checksum, CloseTemp, cancellationToken)
                .ConfigureAwait(false);
            _state = 1;
            // Renamed into place, or (too large) never placed: either way the temporary name is done with.
            CloseAndDeleteTemp();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw _store.Translate(ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_state == 0)
            {
                _state = 2;
                CloseAndDeleteTemp();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left behind: the next cleanup of its shard (a commit there, a scan, a clear) deletes it.
        }
        finally
        {
            _gate.Release();
        }
    }

    private void CloseTemp()
    {
        _stream?.Dispose();
        _stream = null;
    }

    private void CloseAndDeleteTemp()
    {
        try
        {
            CloseTemp();
            File.Delete(_temp);
        }
        finally
        {
            FileSystemCacheStore.ForgetLiveTemp(_temp);
        }
    }

    private void ThrowIfDone()
    {
        if (_state != 0)
        {
            throw new InvalidOperationException(_state == 1 ? "The streamed entry was already committed." : "The streamed write was abandoned.");
        }
    }
}

/// <summary>
/// A body file read back, checked as it goes: at its end, the bytes read must be as many as the meta file says,
/// with its checksum; otherwise the read fails with an <see cref="IOException"/> instead of ending as if whole.
/// </summary>
internal sealed class CheckedBodyStream : InPlaceReadStream, ISelfCheckingBodyStream
{
    private readonly FileStream _file;
    private readonly BodyChecksum _expected;
    private readonly BodyChecksum.Builder _seen;
    private bool _checked;

    public CheckedBodyStream(FileStream file, BodyChecksum expected)
    {
        _file = file;
        _expected = expected;
        _seen = new BodyChecksum.Builder(expected.Algorithm);
    }

    public override bool CanRead => _file.CanRead;

    /// <summary>The body's length, as the meta file gives it.</summary>
    public override long Length => _expected.Length;

    /// <inheritdoc />
    public BodyChecksum Checks => _expected;

    public override long Position { get => _seen.Length; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer)
    {
        var read = _file.Read(buffer);
        return Account(buffer[..read], buffer.IsEmpty);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Account(ReadOnlySpan<byte> piece, bool emptyBuffer)
    {
        if (!piece.IsEmpty)
        {
            _seen.Append(piece);
        }
        else if (!emptyBuffer && !_checked)
        {
            // The end of the file: a zero-byte read into a real buffer (a zero-length buffer is only a probe).
            _checked = true;
            if (_seen.Current != _expected)
            {
                throw new IOException(
                    $"The cached body file '{_file.Name}' does not match its meta file ({_seen.Length} bytes read, {_expected.Length} expected, or another checksum): it changed while it was read.");
            }
        }

        return piece.Length;
    }
}
