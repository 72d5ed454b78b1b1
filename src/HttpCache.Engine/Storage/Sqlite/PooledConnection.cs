using Microsoft.Data.Sqlite;

namespace HttpCache.Engine.Storage.Sqlite;

/// <summary>
/// One physical SQLite connection, configured once when opened, with the commands it has prepared.
/// Used by one thread at a time (it is rented from <see cref="SqliteConnectionPool"/>).
/// </summary>
internal sealed class PooledConnection : IDisposable
{
    // Keyed by SQL text: the store issues a small fixed set of statements, so this stays small.
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly SqliteConnection _connection;

    public PooledConnection(string connectionString, TimeSpan busyTimeout)
    {
        _connection = new SqliteConnection(connectionString);
        try
        {
            _connection.Open();
            // busy_timeout makes SQLite itself wait for a lock with short back-offs, where Microsoft.Data.Sqlite's
            // own retry loop would sleep 150 ms a time; synchronous=NORMAL is safe in WAL mode and saves an fsync
            // per commit. recursive_triggers keeps the running totals exact should any statement ever delete
            // through a REPLACE conflict (which fires delete triggers only with it on). All three are per
            // connection, hence here and only here.
            using var pragmas = _connection.CreateCommand();
            pragmas.CommandText =
                $"PRAGMA busy_timeout = {(long)busyTimeout.TotalMilliseconds}; PRAGMA synchronous = NORMAL; PRAGMA recursive_triggers = ON;";
            pragmas.ExecuteNonQuery();
        }
        catch
        {
            _connection.Dispose();
            throw;
        }
    }

    /// <summary>The command for this SQL, prepared once per connection and reused, with no parameters.</summary>
    public SqliteCommand Command(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = _connection.CreateCommand();
            command.CommandText = sql;
            _commands.Add(sql, command);
        }
        else
        {
            command.Parameters.Clear();
        }

        return command;
    }

    /// <summary>Runs a statement that returns nothing, through the command cache.</summary>
    public int Execute(string sql) => Command(sql).ExecuteNonQuery();

    /// <summary>
    /// Runs <paramref name="work"/> inside <c>BEGIN IMMEDIATE</c>: the write lock is taken up front, so a
    /// transaction that reads before it writes cannot fail half-way when another writer got there first.
    /// On failure the transaction is left open: the store closes a connection that failed, which rolls it back.
    /// </summary>
    public T InWriteTransaction<TState, T>(TState state, Func<PooledConnection, TState, T> work)
    {
        Execute("BEGIN IMMEDIATE");
        var result = work(this, state);
        Execute("COMMIT");
        return result;
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
        _connection.Dispose();
    }
}
