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

    /// <summary>How much the WAL gathers before a checkpoint, and the size it is cut back to after one resets it: 64 MiB.</summary>
    public const long JournalSizeLimit = 64L * 1024 * 1024;

    public PooledConnection(string connectionString, TimeSpan busyTimeout)
    {
        _connection = new SqliteConnection(connectionString);
        try
        {
            _connection.Open();
            // busy_timeout makes SQLite itself wait for a lock with short back-offs, where Microsoft.Data.Sqlite's
            // own retry loop would sleep 150 ms a time; synchronous=NORMAL is safe in WAL mode and saves an fsync
            // per commit. recursive_triggers keeps the running totals exact should any statement ever delete
            // through a REPLACE conflict (which fires delete triggers only with it on). Streamed bodies pass
            // through the WAL on their way into the file: wal_autocheckpoint lets 64 MiB gather before a
            // checkpoint copies it (at the default 1000 pages, a 1 GiB body cost some 250 checkpoints and their
            // fsyncs: 7-9 s instead of 4-6 s on the 2-core test machine), and journal_size_limit cuts the file back to that size whenever a
            // checkpoint lets it start over (without it, the WAL keeps the largest size it ever reached, as large
            // as everything written while a long read held checkpoints back). All five are per connection, hence
            // here and only here.
            using var pragmas = _connection.CreateCommand();
            pragmas.CommandText =
                $"PRAGMA busy_timeout = {(long)busyTimeout.TotalMilliseconds}; PRAGMA synchronous = NORMAL; PRAGMA recursive_triggers = ON; PRAGMA journal_size_limit = {JournalSizeLimit}; PRAGMA wal_autocheckpoint = {JournalSizeLimit / 4096};";
            pragmas.ExecuteNonQuery();
        }
        catch
        {
            _connection.Dispose();
            throw;
        }
    }

    /// <summary>The pool's generation when this connection was opened (see <see cref="SqliteConnectionPool.Clear"/>).</summary>
    public int Generation { get; init; }

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

    /// <summary>The connection itself, for what commands cannot do (incremental blob I/O).</summary>
    public SqliteConnection Connection => _connection;

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
