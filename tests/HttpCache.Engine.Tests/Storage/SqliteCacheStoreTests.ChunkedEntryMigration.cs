using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Sqlite;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// Schema 7 keeps what schema 3 to 6 streamed as 1 MiB chunk rows readable: a schema-6 file with a chunked entry
/// migrates, serves that body byte for byte, and its chunks still go with the entry; new bodies go to files.
/// </summary>
public sealed partial class SqliteCacheStoreTests
{
    /// <summary>Turns a schema-7 file into what schema 6 left: no dead_bodies, no file triggers, the chunk triggers as they were.</summary>
    internal const string UndoSchema7 = """
        DROP TRIGGER tr_entries_file_delete;
        DROP TRIGGER tr_entries_file_replace;
        DROP TABLE dead_bodies;
        DROP TRIGGER tr_entries_chunks_delete;
        CREATE TRIGGER tr_entries_chunks_delete AFTER DELETE ON entries
        WHEN old.write_id IS NOT NULL BEGIN
            DELETE FROM body_chunks WHERE write_id = old.write_id;
        END;
        DROP TRIGGER tr_entries_chunks_replace;
        CREATE TRIGGER tr_entries_chunks_replace AFTER UPDATE OF write_id ON entries
        WHEN old.write_id IS NOT NULL AND old.write_id IS NOT new.write_id BEGIN
            DELETE FROM body_chunks WHERE write_id = old.write_id;
        END;
        PRAGMA user_version = 6;
        """;

    private const int ChunkSize = 1024 * 1024;

    [Fact]
    public async Task A_schema_6_file_with_a_chunked_entry_migrates_and_still_serves_it()
    {
        var path = Path.Combine(_folder, "v6.sqlite");
        var body = Bytes((5 * ChunkSize / 2) + 3, seed: 110);
        await WriteSchema6ChunkedEntryAsync(path, "old", body);

        var store = OpenAnother(path);

        Assert.Equal(7L, await ScalarOnAsync(path, "PRAGMA user_version"));
        Assert.Equal(3L, await ScalarOnAsync(path, "SELECT COUNT(*) FROM body_chunks"));
        var record = await store.GetAsync("old");
        Assert.True(record!.BodyStreamed);
        Assert.Equal(body, await ReadBodyAsync(store, "old"));
        Assert.Empty(SqliteLeftovers.BodyFiles(path));
        var totals = await TotalsAsync(path);
        Assert.Equal((totals.CountedEntries, totals.CountedBytes), (totals.Entries, totals.Bytes));

        // Replaced by a new streamed write: its chunks go, its body is a file now.
        var newer = Bytes(FileBody, seed: 111);
        await WriteStreamedAsync(store, StreamRecord("old"), newer);
        Assert.Equal(0L, await ScalarOnAsync(path, "SELECT COUNT(*) FROM body_chunks"));
        Assert.Single(SqliteLeftovers.BodyFiles(path));
        Assert.Equal(newer, await ReadBodyAsync(store, "old"));
    }

    [Fact]
    public async Task A_migrated_chunked_entry_removed_takes_its_chunks_and_one_missing_a_chunk_fails_as_Corrupt()
    {
        var path = Path.Combine(_folder, "v6-removed.sqlite");
        await WriteSchema6ChunkedEntryAsync(path, "gone", Bytes(2 * ChunkSize, seed: 112));
        await WriteSchema6ChunkedEntryAsync(path, "damaged", Bytes(3 * ChunkSize, seed: 113));
        var store = OpenAnother(path);

        Assert.Equal(1, await store.RemoveAsync(new CacheQuery { Key = "gone" }));
        Assert.Equal(3L, await ScalarOnAsync(path, "SELECT COUNT(*) FROM body_chunks"));
        Assert.Equal(0L, await ScalarOnAsync(path, "SELECT COUNT(*) FROM dead_bodies"));

        await ScalarOnAsync(path, "DELETE FROM body_chunks WHERE seq = 1");
        var error = await Assert.ThrowsAsync<CacheStoreException>(() => ((IStreamingCacheStore)store).OpenBodyAsync("damaged"));
        Assert.Equal(CacheStoreFailure.Corrupt, error.Failure);
        await store.RemoveAsync(CacheQuery.All);
        Assert.Equal(0, await LeftoversAsync(store));
    }

    /// <summary>
    /// A schema-6 file holding <paramref name="key"/> as schema 6's writer streamed it: an entry row (body_streamed 1,
    /// an empty body, its size counting the body) pointing at numbered 1 MiB chunks of its write id.
    /// </summary>
    private async Task WriteSchema6ChunkedEntryAsync(string path, string key, byte[] body)
    {
        await using (var store = new SqliteCacheStore(path))
        {
            // The row through the store (totals and host figures kept), then made a chunked one by hand.
            await store.SetAsync(Record(key, body: new string('x', body.Length)));
        }

        using var connection = OpenRaw(path);
        connection.Open();
        var writeId = 900 + (long)(await ScalarAsync(connection, "SELECT COUNT(*) FROM entries"))!;
        using (var update = connection.CreateCommand())
        {
            update.CommandText = "UPDATE entries SET body = x'', body_streamed = 1, write_id = $writeId WHERE key = $key";
            update.Parameters.AddWithValue("$writeId", writeId);
            update.Parameters.AddWithValue("$key", key);
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }

        for (var seq = 0; seq * ChunkSize < body.Length; seq++)
        {
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO body_chunks (write_id, seq, data) VALUES ($writeId, $seq, $data)";
            insert.Parameters.AddWithValue("$writeId", writeId);
            insert.Parameters.AddWithValue("$seq", seq);
            insert.Parameters.AddWithValue("$data", body.AsSpan(seq * ChunkSize, Math.Min(ChunkSize, body.Length - (seq * ChunkSize))).ToArray());
            await insert.ExecuteNonQueryAsync();
        }

        if ((long)(await ScalarAsync(connection, "PRAGMA user_version"))! == 7)
        {
            using var undo = connection.CreateCommand();
            undo.CommandText = UndoSchema7;
            await undo.ExecuteNonQueryAsync();
        }
    }

    private async Task<object?> ScalarOnAsync(string path, string sql)
    {
        using var connection = OpenRaw(path);
        connection.Open();
        return await ScalarAsync(connection, sql);
    }
}
