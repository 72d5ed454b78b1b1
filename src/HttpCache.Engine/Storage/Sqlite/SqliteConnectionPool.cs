namespace HttpCache.Engine.Storage.Sqlite;

/// <summary>
/// The store's own pool of open connections. Microsoft.Data.Sqlite's pool would hand back a connection
/// without the commands prepared on it, so the store keeps connections (and their prepared statements)
/// itself, with the library's pooling turned off: disposing the pool really closes the file.
/// </summary>
internal sealed class SqliteConnectionPool : IDisposable
{
    private readonly string _connectionString;
    private readonly TimeSpan _busyTimeout;
    private readonly int _maxIdle;
    private readonly Stack<PooledConnection> _idle = new();
    private bool _disposed;
    private int _generation;

    public SqliteConnectionPool(string connectionString, TimeSpan busyTimeout)
    {
        _connectionString = connectionString;
        _busyTimeout = busyTimeout;
        // More connections than threads that can run at once would only sit idle holding memory.
        _maxIdle = Math.Max(4, Environment.ProcessorCount);
    }

    /// <summary>An idle connection, or a newly opened one when none is idle.</summary>
    public PooledConnection Rent()
    {
        lock (_idle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_idle.TryPop(out var connection))
            {
                return connection;
            }
        }

        return new PooledConnection(_connectionString, _busyTimeout) { Generation = Volatile.Read(ref _generation) };
    }

    /// <summary>
    /// Closes every idle connection, and every one in use as it comes back: the next connections open the file
    /// at the path anew (after it was replaced under the store).
    /// </summary>
    public void Clear()
    {
        PooledConnection[] idle;
        lock (_idle)
        {
            _generation++;
            idle = [.. _idle];
            _idle.Clear();
        }

        foreach (var connection in idle)
        {
            connection.Dispose();
        }
    }

    /// <summary>
    /// Gives back a connection that finished its work cleanly (the store closes one that failed, so no
    /// half-done transaction or lock can leak into the next caller).
    /// </summary>
    public void Return(PooledConnection connection)
    {
        lock (_idle)
        {
            if (!_disposed && _idle.Count < _maxIdle && connection.Generation == _generation)
            {
                _idle.Push(connection);
                return;
            }
        }

        connection.Dispose();
    }

    public void Dispose()
    {
        PooledConnection[] idle;
        lock (_idle)
        {
            _disposed = true;
            idle = [.. _idle];
            _idle.Clear();
        }

        foreach (var connection in idle)
        {
            connection.Dispose();
        }
    }
}
