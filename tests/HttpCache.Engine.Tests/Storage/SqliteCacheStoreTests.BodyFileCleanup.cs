using System.Globalization;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Sqlite;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// Schema 7: what a crash leaves of a body file goes when a store next opens the database. A file of a write whose
/// process is gone goes with its pending row; a file nothing points at (a crash between a commit and the deletion
/// after it) is garbage and goes; a file of a live write, or of an entry, stays.
/// </summary>
public sealed partial class SqliteCacheStoreTests
{
    [Fact]
    public async Task Files_a_crash_left_are_swept_at_open_and_those_of_live_writes_and_entries_kept()
    {
        var kept = Bytes(FileBody, seed: 100);
        await WriteStreamedAsync(Streaming, StreamRecord("entry"), kept);
        var entryFile = Assert.Single(SqliteLeftovers.BodyFiles(DatabasePath)).Key;
        await using var live = await Streaming.BeginWriteAsync(StreamRecord("live"));
        await live.WriteAsync(Bytes(1000, seed: 101));

        var dead = $"{Environment.MachineName}|2000000000|0";
        using (var connection = OpenRaw())
        {
            connection.Open();
            // A writer that crashed mid-body: its pending row and its file.
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO pending_writes (id, key, owner, started_at) VALUES (5001, 'crashed', $owner, $now)";
            insert.Parameters.AddWithValue("$owner", dead);
            insert.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.UtcTicks);
            await insert.ExecuteNonQueryAsync();
        }

        var folder = SqliteLeftovers.BodyFolder(DatabasePath);
        await File.WriteAllBytesAsync(Path.Combine(folder, "5001.body"), new byte[4096]);
        // A file no write or entry has: a crash between a commit that dropped it and its deletion.
        await File.WriteAllBytesAsync(Path.Combine(folder, "5002.body"), new byte[4096]);
        // Not a body file's name: not ours to judge.
        await File.WriteAllBytesAsync(Path.Combine(folder, "notes.txt"), [1]);

        OpenAnother();

        var liveFile = (long)(await ScalarOnDatabaseAsync("SELECT id FROM pending_writes WHERE key = 'live'"))!;
        Assert.Equal(
            new[] { entryFile, liveFile }.Order(),
            SqliteLeftovers.BodyFiles(DatabasePath).Keys.Order());
        Assert.Null(await ScalarOnDatabaseAsync("SELECT id FROM pending_writes WHERE id = 5001"));
        Assert.True(File.Exists(Path.Combine(folder, "notes.txt")));
        Assert.Equal(kept, await ReadBodyAsync(Streaming, "entry"));

        // The live write, untouched, still commits.
        await live.CommitAsync();
        Assert.Equal(1000, (await ReadBodyAsync(Streaming, "live"))!.Length);
    }

    [Fact]
    public async Task A_file_recorded_dead_but_not_deleted_goes_at_open()
    {
        await WriteStreamedAsync(Streaming, StreamRecord("k"), Bytes(FileBody, seed: 102));
        var file = Assert.Single(SqliteLeftovers.BodyFiles(DatabasePath)).Value;

        // Removed by a statement outside any store: the trigger records the file, nobody deletes it.
        Assert.Equal(0L, await ScalarOnDatabaseAsync("DELETE FROM entries WHERE key = 'k' RETURNING 0"));
        Assert.Equal(1L, await ScalarOnDatabaseAsync("SELECT COUNT(*) FROM dead_bodies"));
        Assert.True(File.Exists(file.FullName));

        OpenAnother();

        Assert.False(File.Exists(file.FullName));
        Assert.Equal(0L, await ScalarOnDatabaseAsync("SELECT COUNT(*) FROM dead_bodies"));
        Assert.Equal(0, await LeftoversAsync(Store));
    }

    [Fact]
    public async Task A_write_given_up_deletes_its_file_and_its_pending_row()
    {
        await using (var writer = await Streaming.BeginWriteAsync(StreamRecord("k")))
        {
            await writer.WriteAsync(Bytes(FileBody, seed: 103));
            Assert.Single(SqliteLeftovers.BodyFiles(DatabasePath));
        }

        Assert.Empty(SqliteLeftovers.BodyFiles(DatabasePath));
        Assert.Equal(0L, await ScalarOnDatabaseAsync("SELECT COUNT(*) FROM pending_writes"));
        Assert.Null(await Store.GetAsync("k"));
    }

    [Fact]
    public async Task A_write_given_up_after_its_store_closed_still_deletes_its_file()
    {
        var store = new SqliteCacheStore(Path.Combine(_folder, "closing.sqlite"));
        var writer = await store.BeginWriteAsync(StreamRecord("k"));
        await writer.WriteAsync(Bytes(FileBody, seed: 106));
        Assert.Single(SqliteLeftovers.BodyFiles(store.Location));

        await store.DisposeAsync();
        await writer.DisposeAsync();

        // The pending row stays (its process is alive) until a day has passed; the body is gone now.
        Assert.Empty(SqliteLeftovers.BodyFiles(store.Location));
    }

    [Fact]
    public async Task A_body_folder_that_cannot_be_made_fails_the_write_as_Unwritable_and_leaves_nothing_pending()
    {
        // A file where the folder would be.
        await File.WriteAllBytesAsync(SqliteLeftovers.BodyFolder(DatabasePath), [1]);

        var error = await Assert.ThrowsAsync<CacheStoreException>(() => Streaming.BeginWriteAsync(StreamRecord("k")));

        Assert.Equal(CacheStoreFailure.Unwritable, error.Failure);
        Assert.Contains(".bodies", error.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await ScalarOnDatabaseAsync("SELECT COUNT(*) FROM pending_writes"));
        // Small bodies are in rows and unaffected.
        await Store.SetAsync(Record("small"));
        Assert.NotNull(await Store.GetAsync("small"));
    }

    [Fact]
    public async Task A_database_started_again_beside_an_old_folder_overwrites_a_name_it_reuses()
    {
        // Write ids start over in a new database; a file of the old one under the same name must not be taken for the body.
        Directory.CreateDirectory(SqliteLeftovers.BodyFolder(DatabasePath));
        var next = 1 + (long)(await ScalarOnDatabaseAsync("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'pending_writes'"))!;
        var stale = Path.Combine(SqliteLeftovers.BodyFolder(DatabasePath), next.ToString(CultureInfo.InvariantCulture) + ".body");
        await File.WriteAllBytesAsync(stale, Bytes(3 * FileBody, seed: 104));

        var body = Bytes(FileBody, seed: 105);
        await WriteStreamedAsync(Streaming, StreamRecord("k"), body);

        Assert.Equal(body, await File.ReadAllBytesAsync(stale));
        Assert.Equal(body, await ReadBodyAsync(Streaming, "k"));
    }

    private async Task<object?> ScalarOnDatabaseAsync(string sql)
    {
        using var connection = OpenRaw();
        connection.Open();
        return await ScalarAsync(connection, sql);
    }
}
