using Microsoft.Data.Sqlite;

namespace HttpCache.Engine.Storage.Sqlite;

/// <summary>
/// A streamed body read back: the chunks of one write, in order, each read with SQLite's incremental blob I/O
/// straight into the caller's buffer (no chunk is copied into memory whole). The stream owns a pooled
/// connection with an open read transaction, so it sees the entry as it was when opened, whatever writers do
/// meanwhile; disposing it ends the transaction and gives the connection back. Read-only, forward-only, and
/// for one reader at a time, as any stream.
/// </summary>
internal sealed class SqliteChunkStream : InPlaceReadStream
{
    private readonly SqliteCacheStore _store;
    private readonly List<(long RowId, long Length)> _chunks;
    private readonly long _length;
    private PooledConnection? _connection;
    private SqliteBlob? _current;
    private int _next;
    private long _position;

    public SqliteChunkStream(SqliteCacheStore store, PooledConnection connection, List<(long RowId, long Length)> chunks, long length)
    {
        _store = store;
        _connection = connection;
        _chunks = chunks;
        _length = length;
    }

    public override bool CanRead => _connection is not null;

    /// <summary>The body's length, known from the entry.</summary>
    public override long Length => _length;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_connection is null, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        try
        {
            while (true)
            {
                if (_current is null)
                {
                    if (_next == _chunks.Count)
                    {
                        return 0;
                    }

                    _current = new SqliteBlob(_connection.Connection, "body_chunks", "data", _chunks[_next].RowId, readOnly: true);
                    _next++;
                }

                var read = _current.Read(buffer);
                if (read > 0)
                {
                    _position += read;
                    return read;
                }

                _current.Dispose();
                _current = null;
            }
        }
        catch (SqliteException ex)
        {
            throw new IOException($"Reading a streamed body from the HTTP cache database '{_store.Location}' failed: {ex.Message}", _store.Translate(ex));
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _connection, null) is { } connection)
        {
            _current?.Dispose();
            _current = null;
            _store.ReturnReader(connection);
        }

        base.Dispose(disposing);
    }
}
