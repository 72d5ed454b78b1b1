using System.Buffers;
using System.ComponentModel;
using System.Diagnostics;

namespace HttpCache.Engine.Storage.Sqlite;

/// <summary>
/// The SQL of streamed bodies (schema 3): registering a write, its chunks, finishing or abandoning it, and
/// cleaning up after writers that died.
/// </summary>
/// <remarks>
/// <para>
/// The invariant every statement keeps, each inside one transaction: a chunk exists only while its write is in
/// <c>pending_writes</c> or an entry row points at it. A chunk is inserted only while its write is still pending
/// (the insert checks, in the same statement); the commit removes the pending row and points the entry at the
/// chunks in one transaction; abandoning and cleaning up remove the pending row and the chunks together; the
/// triggers remove an entry's chunks with the entry. So chunks nobody points at are provably garbage.
/// </para>
/// <para>
/// A write whose process crashed stays pending. It is taken for abandoned, and deleted with its chunks, when
/// it has been pending for longer than <see cref="AbandonedAfter"/>, or, when a store opens the file, when its
/// owner (machine, process id and process start time) is a process of this machine that is no longer running.
/// A writer whose write was taken for abandoned while it was still alive (a download slower than a day, a
/// process in another PID namespace under the same host name) fails its next chunk or its commit: its body is
/// not stored, and nothing is damaged.
/// </para>
/// </remarks>
internal static class SqliteBodyWrites
{
    /// <summary>The size of one chunk, and so the most body bytes a write or a read holds in memory.</summary>
    public const int ChunkSize = 1024 * 1024;

    /// <summary>How long a write may stay pending before any store takes it for abandoned.</summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromDays(1);

    // Two process start times that differ by less than this are the same start (the clock that dates them moves).
    private static readonly TimeSpan StartTolerance = TimeSpan.FromSeconds(5);

    private const string BeginSql = "INSERT INTO pending_writes (key, owner, started_at) VALUES ($key, $owner, $startedAt) RETURNING id";

    // In one statement, so a write taken for abandoned can never gain a chunk again.
    private const string InsertChunkSql = """
        INSERT INTO body_chunks (write_id, seq, data)
        SELECT $writeId, $seq, $data WHERE EXISTS (SELECT 1 FROM pending_writes WHERE id = $writeId)
        """;

    private const string FinishSql = "DELETE FROM pending_writes WHERE id = $writeId";
    private const string DeleteChunksSql = "DELETE FROM body_chunks WHERE write_id = $writeId";
    private const string ChunksSql = "SELECT rowid, seq, length(data) FROM body_chunks WHERE write_id = $writeId ORDER BY seq";

    private const string StalePendingSql = "SELECT id, owner, started_at FROM pending_writes WHERE started_at < $cutoff";
    private const string AllPendingSql = "SELECT id, owner, started_at FROM pending_writes";
    private const string ReapSql = "DELETE FROM pending_writes WHERE id = $writeId AND started_at = $startedAt";

    private const string OrphanCondition = """
        NOT EXISTS (SELECT 1 FROM pending_writes p WHERE p.id = c.write_id)
        AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.write_id = c.write_id)
        """;

    private const string AnyOrphanSql = $"SELECT 1 FROM body_chunks c WHERE {OrphanCondition} LIMIT 1";
    private const string DeleteOrphansSql = $"DELETE FROM body_chunks WHERE write_id IN (SELECT c.write_id FROM body_chunks c WHERE {OrphanCondition})";

    private static readonly Lazy<(string Machine, int Pid, long StartTicks)> ThisProcess = new(() =>
    {
        long start;
        try
        {
            using var process = Process.GetCurrentProcess();
            start = process.StartTime.ToUniversalTime().Ticks;
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            start = 0;
        }

        return (Environment.MachineName, Environment.ProcessId, start);
    });

    /// <summary>How this process names itself as the owner of its writes: machine, process id, start time (UTC ticks).</summary>
    public static string OwnerOfThisProcess => $"{ThisProcess.Value.Machine}|{ThisProcess.Value.Pid}|{ThisProcess.Value.StartTicks}";

    /// <summary>Registers a new write (after cleaning up writes pending for too long) and returns its id.</summary>
    public static long Begin(PooledConnection connection, string key, DateTimeOffset now)
    {
        CleanUp(connection, now, atOpen: false);
        var command = connection.Command(BeginSql);
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$owner", OwnerOfThisProcess);
        command.Parameters.AddWithValue("$startedAt", now.UtcTicks);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Adds one chunk; false when the write is no longer pending (it was taken for abandoned).</summary>
    public static bool InsertChunk(PooledConnection connection, long writeId, long seq, byte[] data)
    {
        var command = connection.Command(InsertChunkSql);
        command.Parameters.AddWithValue("$writeId", writeId);
        command.Parameters.AddWithValue("$seq", seq);
        command.Parameters.AddWithValue("$data", data);
        return command.ExecuteNonQuery() == 1;
    }

    /// <summary>Inside the commit's transaction: the write stops being pending; false when it no longer was.</summary>
    public static bool Finish(PooledConnection connection, long writeId)
    {
        var command = connection.Command(FinishSql);
        command.Parameters.AddWithValue("$writeId", writeId);
        return command.ExecuteNonQuery() == 1;
    }

    /// <summary>Deletes a write's chunks (the caller is in a transaction, or it is one statement).</summary>
    public static void DeleteChunks(PooledConnection connection, long writeId)
    {
        var command = connection.Command(DeleteChunksSql);
        command.Parameters.AddWithValue("$writeId", writeId);
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Gives up a write: its pending row and its chunks go together. A write no longer pending (committed, or
    /// already cleaned up) is left alone: its chunks, if any, belong to an entry now.
    /// </summary>
    public static void Abandon(PooledConnection connection, long writeId) =>
        connection.InWriteTransaction(writeId, static (c, writeId) =>
        {
            if (Finish(c, writeId))
            {
                DeleteChunks(c, writeId);
            }

            return 0;
        });

    /// <summary>A streamed entry's chunks in order, as rowids and lengths, checked to be numbered 0, 1, 2… without a gap.</summary>
    public static List<(long RowId, long Length)> Chunks(PooledConnection connection, long writeId)
    {
        var command = connection.Command(ChunksSql);
        command.Parameters.AddWithValue("$writeId", writeId);
        var chunks = new List<(long, long)>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (reader.GetInt64(1) != chunks.Count)
            {
                throw new CacheStoreException(
                    $"The chunks of streamed write {writeId} are not numbered in sequence (chunk {chunks.Count} is missing).",
                    failure: CacheStoreFailure.Corrupt);
            }

            chunks.Add((reader.GetInt64(0), reader.GetInt64(2)));
        }

        return chunks;
    }

    /// <summary>
    /// Deletes writes pending for longer than <see cref="AbandonedAfter"/>, and with <paramref name="atOpen"/> also
    /// writes whose owning process is gone and chunks that nothing points at. Looks first without the write lock,
    /// so the common case (nothing to do) costs one read; each deletion is checked again under the lock.
    /// Returns how many writes were deleted.
    /// </summary>
    public static int CleanUp(PooledConnection connection, DateTimeOffset now, bool atOpen)
    {
        var cutoff = (now - AbandonedAfter).UtcTicks;
        var abandoned = new List<(long Id, long StartedAt)>();
        var command = connection.Command(atOpen ? AllPendingSql : StalePendingSql);
        if (!atOpen)
        {
            command.Parameters.AddWithValue("$cutoff", cutoff);
        }

        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var startedAt = reader.GetInt64(2);
                if (startedAt < cutoff || OwnerIsGone(reader.GetString(1)))
                {
                    abandoned.Add((reader.GetInt64(0), startedAt));
                }
            }
        }

        var orphans = atOpen && connection.Command(AnyOrphanSql).ExecuteScalar() is not null;
        if (abandoned.Count == 0 && !orphans)
        {
            return 0;
        }

        return connection.InWriteTransaction((abandoned, orphans), static (c, s) =>
        {
            var removed = 0;
            foreach (var (id, startedAt) in s.abandoned)
            {
                // Still the same pending write: not committed or abandoned meanwhile.
                var reap = c.Command(ReapSql);
                reap.Parameters.AddWithValue("$writeId", id);
                reap.Parameters.AddWithValue("$startedAt", startedAt);
                if (reap.ExecuteNonQuery() == 1)
                {
                    DeleteChunks(c, id);
                    removed++;
                }
            }

            if (s.orphans)
            {
                c.Execute(DeleteOrphansSql);
            }

            return removed;
        });
    }

    /// <summary>
    /// True only when the owner is provably not running: a process of this machine whose id is free, or taken by
    /// a process that started at another time. Another machine's writes, or a process that cannot be inspected,
    /// are never judged (they go after <see cref="AbandonedAfter"/>).
    /// </summary>
    internal static bool OwnerIsGone(string owner)
    {
        var parts = owner.Split('|');
        if (parts.Length != 3
            || !string.Equals(parts[0], ThisProcess.Value.Machine, StringComparison.OrdinalIgnoreCase)
            || !int.TryParse(parts[1], out var pid)
            || !long.TryParse(parts[2], out var startTicks))
        {
            return false;
        }

        if (pid == ThisProcess.Value.Pid)
        {
            // This process (other stores in it may be writing), or an earlier one that had the same id.
            return !SameStart(startTicks, ThisProcess.Value.StartTicks);
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return !SameStart(startTicks, process.StartTime.ToUniversalTime().Ticks);
        }
        catch (ArgumentException)
        {
            // No process has this id.
            return true;
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool SameStart(long a, long b) => Math.Abs(a - b) <= StartTolerance.Ticks;
}

/// <summary>
/// One streamed write into a <see cref="SqliteCacheStore"/>: the body is gathered into a chunk of
/// <see cref="SqliteBodyWrites.ChunkSize"/> bytes, and each full chunk is inserted on a thread-pool thread while the
/// caller goes on reading the next one: SQLite writes a chunk's pages twice (into the WAL, then the checkpoint copies
/// them into the file), several times slower than the network delivers them, and the caller should not wait for
/// that twice over. At most one chunk is being inserted while the next fills, so the write holds two chunks of memory
/// at most. A failed insert fails the next write or the commit. Calls are serialized by a gate, so a dispose from
/// another thread (the engine's abandon) waits for a write in progress instead of pulling a buffer from under it;
/// it does not wait for the chunk being inserted, which the abandon removes or keeps from landing.
/// </summary>
internal sealed class SqliteBodyWriter : ICacheBodyWriter
{
    private readonly SqliteCacheStore _store;
    private CacheRecord _record;
    private readonly long _writeId;
    private readonly StoreLimits? _limits;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private byte[]? _buffer;
    private int _filled;
    private Task<byte[]>? _inserting; // the previous full chunk; its buffer comes back when it is in the file
    private long _nextSeq;
    private long _length;
    private bool _tooLarge;
    private int _state; // 0 writing, 1 committed, 2 abandoned

    public SqliteBodyWriter(SqliteCacheStore store, CacheRecord record, long writeId, StoreLimits? limits)
    {
        _store = store;
        _record = record;
        _writeId = writeId;
        _limits = limits;
    }

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

            if (_limits is not null && StoreLimitsRules.TooLargeAlone(_limits, _record.Metadata.Length + _length))
            {
                // It can never be stored: nothing more is written, and what was written goes now. The commit then
                // removes the entry this write would have replaced, as SetAsync does for an entry too large.
                _tooLarge = true;
                _filled = 0;
                ReturnToPool(await InsertedAsync().ConfigureAwait(false));
                ReleaseBuffer();
                _store.Execute(_writeId, static (connection, writeId) =>
                {
                    SqliteBodyWrites.DeleteChunks(connection, writeId);
                    return 0;
                });
                return;
            }

            while (!data.IsEmpty)
            {
                _buffer ??= ArrayPool<byte>.Shared.Rent(SqliteBodyWrites.ChunkSize);
                var n = Math.Min(SqliteBodyWrites.ChunkSize - _filled, data.Length);
                data.Span[..n].CopyTo(_buffer.AsSpan(_filled));
                _filled += n;
                data = data[n..];
                if (_filled == SqliteBodyWrites.ChunkSize)
                {
                    await StartInsertAsync().ConfigureAwait(false);
                }
            }
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
            ReturnToPool(await InsertedAsync().ConfigureAwait(false));
            if (_filled > 0)
            {
                Insert(_buffer!, _filled, _nextSeq++);
                _filled = 0;
            }

            if (metadata is not null)
            {
                _record = _record.WithMetadata(metadata);
            }

            _store.Execute(this, static (connection, writer) =>
            {
                SqliteCacheStore.CommitStreamed(connection, writer._record, writer._writeId, writer._length, writer._limits);
                return 0;
            });
            _state = 1;
            ReleaseBuffer();
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
                // Not waited for: the abandon can go first. A chunk's insert is one statement that checks the write is
                // still pending, so the chunk in flight lands before the abandon (which deletes it) or not at all.
                if (Interlocked.Exchange(ref _inserting, null) is { } inserting)
                {
                    _ = inserting.ContinueWith(
                        static t =>
                        {
                            if (t.IsCompletedSuccessfully)
                            {
                                ReturnToPool(t.Result);
                            }
                        },
                        CancellationToken.None,
                        TaskContinuationOptions.ExecuteSynchronously,
                        TaskScheduler.Default);
                }

                ReleaseBuffer();
                try
                {
                    _store.Execute(_writeId, static (connection, writeId) =>
                    {
                        SqliteBodyWrites.Abandon(connection, writeId);
                        return 0;
                    });
                }
                catch (Exception ex) when (ex is CacheStoreException or ObjectDisposedException)
                {
                    // Locked past the timeout, or the store is closed: the write stays pending, and the cleanup of a
                    // later store (this process gone, or a day later) deletes it.
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    // A full chunk goes to a thread-pool thread once the one before it is in the file; the caller fills the next
    // buffer (the previous chunk's, when it came back) meanwhile.
    private async ValueTask StartInsertAsync()
    {
        var free = await InsertedAsync().ConfigureAwait(false);
        var chunk = _buffer!;
        var seq = _nextSeq++;
        _buffer = free;
        _filled = 0;
        _inserting = Task.Run(() =>
        {
            Insert(chunk, SqliteBodyWrites.ChunkSize, seq);
            return chunk;
        });
    }

    // Waits for the chunk in flight, if any, and hands its buffer back; a failed insert throws here.
    private async ValueTask<byte[]?> InsertedAsync()
    {
        if (_inserting is not { } inserting)
        {
            return null;
        }

        _inserting = null;
        return await inserting.ConfigureAwait(false);
    }

    private void Insert(byte[] buffer, int length, long seq)
    {
        // The parameter binds a whole array: a short last chunk, or a rented buffer longer than a chunk, is copied.
        var chunk = buffer.Length == length ? buffer : buffer.AsSpan(0, length).ToArray();
        var inserted = _store.Execute((WriteId: _writeId, Seq: seq, Chunk: chunk), static (connection, s) =>
            SqliteBodyWrites.InsertChunk(connection, s.WriteId, s.Seq, s.Chunk));
        if (!inserted)
        {
            throw new CacheStoreException(
                $"The streamed write of entry '{_record.Key}' was taken for abandoned and cleaned up; it is not stored.",
                failure: CacheStoreFailure.Other);
        }
    }

    private void ThrowIfDone()
    {
        if (_state != 0)
        {
            throw new InvalidOperationException(_state == 1 ? "The streamed entry was already committed." : "The streamed write was abandoned.");
        }
    }

    private void ReleaseBuffer()
    {
        ReturnToPool(_buffer);
        _buffer = null;
    }

    private static void ReturnToPool(byte[]? buffer)
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
