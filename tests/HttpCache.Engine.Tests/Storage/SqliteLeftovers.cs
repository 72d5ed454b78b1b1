using System.Globalization;
using Microsoft.Data.Sqlite;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// What a SQLite cache holds outside its entries, read straight from the database and its body folder: pending writes,
/// chunks and body files nothing points at, and the files the store still owes a deletion.
/// </summary>
internal static class SqliteLeftovers
{
    /// <summary>The body folder beside a database (schema 7).</summary>
    public static string BodyFolder(string databasePath) => databasePath + ".bodies";

    /// <summary>The body files in the folder (<c>&lt;write id&gt;.body</c>), by write id.</summary>
    public static Dictionary<long, FileInfo> BodyFiles(string databasePath) =>
        Directory.Exists(BodyFolder(databasePath))
            ? Directory.EnumerateFiles(BodyFolder(databasePath), "*.body").Select(path => new FileInfo(path))
                .ToDictionary(file => long.Parse(Path.GetFileNameWithoutExtension(file.Name), CultureInfo.InvariantCulture))
            : [];

    /// <summary>Pending writes, dead-body records, and chunks and body files no entry points at.</summary>
    public static async Task<long> CountAsync(string databasePath)
    {
        using var connection = Open(databasePath);
        var pointedAt = (await ColumnAsync(connection, "SELECT write_id FROM entries WHERE write_id IS NOT NULL")).ToHashSet();
        var rows = (long)(await ScalarAsync(connection, """
            SELECT (SELECT COUNT(*) FROM pending_writes)
                 + (SELECT COUNT(*) FROM dead_bodies)
                 + (SELECT COUNT(*) FROM body_chunks c WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.write_id = c.write_id))
            """))!;
        return rows + BodyFiles(databasePath).Keys.Count(id => !pointedAt.Contains(id));
    }

    /// <summary>Every body byte the cache holds: in rows, in chunks, in files.</summary>
    public static async Task<long> BodyBytesAsync(string databasePath)
    {
        using var connection = Open(databasePath);
        var inDatabase = (long)(await ScalarAsync(connection, """
            SELECT (SELECT COALESCE(SUM(length(data)), 0) FROM body_chunks) + (SELECT COALESCE(SUM(length(body)), 0) FROM entries)
            """))!;
        return inDatabase + BodyFileBytes(databasePath);
    }

    /// <summary>The bytes of the body files.</summary>
    public static long BodyFileBytes(string databasePath) => BodyFiles(databasePath).Values.Sum(file => file.Length);

    /// <summary>A connection of its own (the library's pool would keep the file open after the test).</summary>
    public static SqliteConnection Open(string databasePath)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public static async Task<object?> ScalarAsync(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    public static async Task<List<long>> ColumnAsync(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        var values = new List<long>();
        using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetInt64(0));
        }

        return values;
    }
}
