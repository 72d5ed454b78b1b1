using System.Text;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace HttpCache.Engine.Tests.Storage;

public sealed partial class SqliteCacheStoreTests
{
    // ---- Streamed bodies (schema 3; as files since schema 7) ----

    [Fact]
    public async Task A_streamed_body_is_written_to_its_own_file_as_it_arrives_and_the_commit_points_the_entry_at_it()
    {
        var body = Bytes((5 * 1024 * 1024 / 2) + 11, seed: 30);
        await using var writer = await Streaming.BeginWriteAsync(StreamRecord("k"));
        await writer.WriteAsync(body);

        using var connection = OpenRaw();
        connection.Open();
        var writeId = (long)(await ScalarAsync(connection, "SELECT id FROM pending_writes WHERE key = 'k'"))!;
        Assert.Equal(SqliteBodyWrites.OwnerOfThisProcess, await ScalarAsync(connection, "SELECT owner FROM pending_writes WHERE key = 'k'"));
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM entries"));
        // The file has its final name while the write is pending; nothing of the body goes into the database.
        var file = Assert.Single(SqliteLeftovers.BodyFiles(DatabasePath));
        Assert.Equal(writeId, file.Key);
        Assert.Equal(Path.Combine(DatabasePath + ".bodies", $"{writeId}.body"), file.Value.FullName);

        await writer.CommitAsync();

        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM pending_writes"));
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM body_chunks"));
        Assert.Equal(2L, await ScalarAsync(connection, "SELECT body_streamed FROM entries WHERE key = 'k'"));
        Assert.Equal(writeId, await ScalarAsync(connection, "SELECT write_id FROM entries WHERE key = 'k'"));
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT length(body) FROM entries WHERE key = 'k'"));
        Assert.Equal(body, await File.ReadAllBytesAsync(SqliteLeftovers.BodyFiles(DatabasePath)[writeId].FullName));
        var totals = await TotalsAsync();
        Assert.Equal((1L, StreamRecord("k").Metadata.Length + (long)body.Length), (totals.Entries, totals.Bytes));
        Assert.Equal((totals.CountedEntries, totals.CountedBytes), (totals.Entries, totals.Bytes));
    }

    [Fact]
    public async Task Getting_a_streamed_entry_never_opens_its_file_and_a_missing_or_cut_file_fails_the_open_as_Corrupt()
    {
        await WriteStreamedAsync(Streaming, StreamRecord("k"), Bytes(3 * 1024 * 1024, seed: 31));
        var file = Assert.Single(SqliteLeftovers.BodyFiles(DatabasePath)).Value;
        File.Move(file.FullName, file.FullName + ".aside");

        var record = await Store.GetAsync("k");
        Assert.NotNull(record);
        Assert.True(record.BodyStreamed);
        Assert.Single(await Store.GetVariantsAsync(StreamRecord("k").PrimaryKey));

        var error = await Assert.ThrowsAsync<CacheStoreException>(() => Streaming.OpenBodyAsync("k"));
        Assert.Equal(CacheStoreFailure.Corrupt, error.Failure);

        // Back, but a byte short.
        File.Move(file.FullName + ".aside", file.FullName);
        using (var cut = new FileStream(file.FullName, FileMode.Open))
        {
            cut.SetLength(cut.Length - 1);
        }

        error = await Assert.ThrowsAsync<CacheStoreException>(() => Streaming.OpenBodyAsync("k"));
        Assert.Equal(CacheStoreFailure.Corrupt, error.Failure);
        Assert.Contains("holds 3145727 of its 3145728 bytes", error.Message, StringComparison.Ordinal);

        // The failed opens gave their connection up: the file is still usable, and closes.
        await Store.SetAsync(Record("after"));
        Assert.NotNull(await Store.GetAsync("after"));
    }

    [Fact]
    public async Task A_file_written_by_schema_2_is_migrated_and_takes_streamed_bodies()
    {
        var path = Path.Combine(_folder, "v2.sqlite");
        using (var connection = await OpenWrittenByAsync(path, Version1Schema, Version1To2Migration))
        {
            for (var i = 0; i < 2; i++)
            {
                using var insert = connection.CreateCommand();
                // As schema 2's writer stored an entry: an upsert of the thirteen columns.
                insert.CommandText = """
                    INSERT INTO entries (key, primary_key, method, uri, status, created_at, expires_at, keep_until,
                                         size, hit_count, last_accessed_at, metadata, body)
                    VALUES ($key, $key, 'GET', 'https://example.test/', 200, $createdAt, NULL, NULL, $size, 0, NULL, $metadata, $body)
                    ON CONFLICT (key) DO UPDATE SET size = excluded.size, metadata = excluded.metadata, body = excluded.body
                    """;
                insert.Parameters.AddWithValue("$key", $"old-{i}");
                insert.Parameters.AddWithValue("$createdAt", T0.AddSeconds(i).UtcTicks);
                insert.Parameters.AddWithValue("$size", 4L + 5);
                insert.Parameters.AddWithValue("$metadata", Encoding.UTF8.GetBytes("meta"));
                insert.Parameters.AddWithValue("$body", Encoding.UTF8.GetBytes($"body{i}"));
                await insert.ExecuteNonQueryAsync();
            }

            Assert.Equal(2L, (long?)await ScalarAsync(connection, "PRAGMA user_version"));
        }

        var store = OpenAnother(path);

        using (var connection = OpenRaw(path))
        {
            connection.Open();
            Assert.Equal(7L, (long?)await ScalarAsync(connection, "PRAGMA user_version"));
        }

        var old = await store.GetAsync("old-0");
        Assert.Equal("body0", Encoding.UTF8.GetString(old!.Body));
        Assert.False(old.BodyStreamed);
        Assert.Equal(new StoreInventory(2, 18, T0, T0.AddSeconds(1)), await store.GetInventoryAsync());

        // A streamed body replaces an old entry, and a normal one replaces it again: the totals stay exact throughout.
        var body = Bytes((3 * 1024 * 1024 / 2) + 1, seed: 32);
        await WriteStreamedAsync(store, StreamRecord("old-0"), body);
        Assert.True((await store.GetAsync("old-0"))!.BodyStreamed);
        Assert.Equal(body, await ReadBodyAsync(store, "old-0"));
        var totals = await TotalsAsync(path);
        Assert.Equal((totals.CountedEntries, totals.CountedBytes), (totals.Entries, totals.Bytes));
        Assert.Equal(2L, totals.Entries);

        await store.SetAsync(Record("old-0", body: "plain"));
        Assert.Equal(0, await LeftoversAsync(store));
        Assert.Equal(5L + "body1".Length, await BodyBytesAsync(store));

        // And it opens again as it is, migrated once.
        var again = OpenAnother(path);
        Assert.Equal(2, (await again.GetInventoryAsync()).Entries);
    }

    [Fact]
    public async Task A_file_written_by_schema_3_is_migrated_to_4_and_finds_every_variant_with_exact_totals()
    {
        var path = Path.Combine(_folder, "v3.sqlite");
        using (var connection = await OpenWrittenByAsync(path, Version1Schema, Version1To2Migration, Version2To3Migration))
        {
            // As schema 3's writer stored entries (its insert trigger kept the total): one that varies on nothing
            // (key = primary key) and two variants of another primary key.
            foreach (var (key, primaryKey) in new[] { ("plain", "plain"), ("p.v1", "p"), ("p.v2", "p") })
            {
                using var insert = connection.CreateCommand();
                insert.CommandText = """
                    INSERT INTO entries (key, primary_key, method, uri, status, created_at, expires_at, keep_until,
                                         size, hit_count, last_accessed_at, metadata, body, body_streamed, write_id)
                    VALUES ($key, $primaryKey, 'GET', 'https://example.test/', 200, $createdAt, NULL, NULL, 9, 0, NULL, $metadata, $body, 0, NULL)
                    ON CONFLICT (key) DO UPDATE SET size = excluded.size, metadata = excluded.metadata, body = excluded.body
                    """;
                insert.Parameters.AddWithValue("$key", key);
                insert.Parameters.AddWithValue("$primaryKey", primaryKey);
                insert.Parameters.AddWithValue("$createdAt", T0.UtcTicks);
                insert.Parameters.AddWithValue("$metadata", Encoding.UTF8.GetBytes("meta"));
                insert.Parameters.AddWithValue("$body", Encoding.UTF8.GetBytes("body0"));
                await insert.ExecuteNonQueryAsync();
            }
        }

        var store = OpenAnother(path);

        using (var connection = OpenRaw(path))
        {
            connection.Open();
            Assert.Equal(7L, (long?)await ScalarAsync(connection, "PRAGMA user_version"));
            Assert.Equal(0L, (long?)await ScalarAsync(connection, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('tr_entries_insert', 'ix_entries_primary_key')"));
            Assert.Equal(1L, (long?)await ScalarAsync(connection, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'ix_entries_variants'"));
            // Both ways to a primary key use an index: no lookup scans the table.
            using var plan = connection.CreateCommand();
            plan.CommandText = "EXPLAIN QUERY PLAN SELECT key FROM entries WHERE ((key = 'p' AND primary_key = 'p') OR (primary_key = 'p' AND primary_key <> key))";
            var steps = new List<string>();
            using (var reader = await plan.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    steps.Add(reader.GetString(3));
                }
            }

            Assert.Contains(steps, step => step.Contains("ix_entries_variants", StringComparison.Ordinal));
            Assert.DoesNotContain(steps, step => step.StartsWith("SCAN", StringComparison.Ordinal));
        }

        Assert.Equal(["p.v1", "p.v2"], (await store.GetVariantsAsync("p")).Select(r => r.Key).Order(StringComparer.Ordinal));
        Assert.Equal(["plain"], (await store.GetVariantsAsync("plain")).Select(r => r.Key));
        Assert.Empty(await store.GetVariantsAsync("p.v1"));
        Assert.Equal((3L, 27L, 3L, 27L), await TotalsAsync(path));

        // New rows, a replaced row, and removal by primary key: the writer's own running total stays exact.
        await store.SetManyAsync([Record("new", primaryKey: "new"), Record("p.v3", primaryKey: "p"), Record("plain", primaryKey: "plain", body: "a longer body")]);
        var totals = await TotalsAsync(path);
        Assert.Equal((totals.CountedEntries, totals.CountedBytes), (totals.Entries, totals.Bytes));
        Assert.Equal(5L, totals.Entries);
        Assert.Equal(3, await store.RemoveAsync(new CacheQuery { PrimaryKey = "p" }));
        Assert.Equal("a longer body", Encoding.UTF8.GetString((await store.GetVariantsAsync("plain")).Single().Body));
        totals = await TotalsAsync(path);
        Assert.Equal((2L, totals.CountedBytes), (totals.Entries, totals.Bytes));
        Assert.Equal(totals.CountedEntries, totals.Entries);
    }

    [Fact]
    public async Task Writes_a_crashed_process_left_are_deleted_when_a_store_opens_and_live_ones_are_kept()
    {
        var machine = Environment.MachineName;
        var now = DateTimeOffset.UtcNow;
        // The id of no process: Linux's pid_max is at most 2^22, and Windows ids are far smaller too.
        var dead = $"{machine}|2000000000|0";
        var elsewhere = "another-machine-" + Guid.NewGuid().ToString("N") + "|1|0";
        var pending = new (long Id, string Owner, DateTimeOffset StartedAt)[]
        {
            (1001, dead, now),                                   // its process is gone: deleted
            (1002, SqliteBodyWrites.OwnerOfThisProcess, now),    // this process, writing: kept
            (1003, elsewhere, now.AddHours(-1)),                 // another machine's, recent: cannot be judged, kept
            (1004, elsewhere, now.AddDays(-2)),                  // pending for two days: deleted
            (1005, SqliteBodyWrites.OwnerOfThisProcess, now.AddDays(-2)), // even this process's, after a day
        };
        using (var connection = OpenRaw())
        {
            connection.Open();
            foreach (var (id, owner, startedAt) in pending)
            {
                using var insert = connection.CreateCommand();
                insert.CommandText = """
                    INSERT INTO pending_writes (id, key, owner, started_at) VALUES ($id, 'k', $owner, $startedAt);
                    INSERT INTO body_chunks (write_id, seq, data) VALUES ($id, 0, zeroblob(1000)), ($id, 1, zeroblob(10));
                    """;
                insert.Parameters.AddWithValue("$id", id);
                insert.Parameters.AddWithValue("$owner", owner);
                insert.Parameters.AddWithValue("$startedAt", startedAt.UtcTicks);
                await insert.ExecuteNonQueryAsync();
            }

            // Chunks nothing points at: neither pending nor an entry's.
            await ScalarAsync(connection, "INSERT INTO body_chunks (write_id, seq, data) VALUES (1006, 0, x'00')");
        }

        OpenAnother();

        using (var connection = OpenRaw())
        {
            connection.Open();
            Assert.Equal("1002,1003", await ScalarAsync(connection, "SELECT group_concat(id, ',') FROM (SELECT id FROM pending_writes ORDER BY id)"));
            Assert.Equal("1002,1003", await ScalarAsync(connection, "SELECT group_concat(write_id, ',') FROM (SELECT DISTINCT write_id FROM body_chunks ORDER BY write_id)"));
        }
    }

    [Fact]
    public async Task A_write_in_progress_survives_another_store_opening_the_file()
    {
        var body = Bytes(3 * 1024 * 1024, seed: 33);
        await using var writer = await Streaming.BeginWriteAsync(StreamRecord("k"));
        await writer.WriteAsync(body.AsMemory(0, 2 * 1024 * 1024));

        var other = OpenAnother();
        await writer.WriteAsync(body.AsMemory(2 * 1024 * 1024));
        await writer.CommitAsync();

        Assert.Equal(body, await ReadBodyAsync(other, "k"));
        Assert.Equal(0, await LeftoversAsync(Store));
    }

    [Fact]
    public async Task A_write_taken_for_abandoned_fails_its_commit_stores_nothing_and_its_file_goes()
    {
        var writer = await Streaming.BeginWriteAsync(StreamRecord("slow"));
        await writer.WriteAsync(Bytes(3 * 1024 * 1024 / 2, seed: 34));
        using (var connection = OpenRaw())
        {
            connection.Open();
            using var age = connection.CreateCommand();
            age.CommandText = "UPDATE pending_writes SET started_at = $old";
            age.Parameters.AddWithValue("$old", DateTimeOffset.UtcNow.AddDays(-2).UtcTicks);
            await age.ExecuteNonQueryAsync();
        }

        // Any new write first cleans up writes pending for over a day, with their files.
        await using (await Streaming.BeginWriteAsync(StreamRecord("next")))
        {
            Assert.Equal(0, await BodyBytesAsync(Store));
        }

        // The writer goes on into a file no longer there (deleted under it), and finds out at its commit.
        await writer.WriteAsync(Bytes(1024 * 1024, seed: 35));
        await Assert.ThrowsAsync<CacheStoreException>(() => writer.CommitAsync());
        await writer.DisposeAsync();

        Assert.Null(await Store.GetAsync("slow"));
        Assert.Equal(0, await LeftoversAsync(Store));
        Assert.Equal(0, await BodyBytesAsync(Store));
        Assert.Empty(SqliteLeftovers.BodyFiles(DatabasePath));
    }

    [Fact]
    public void Only_a_process_of_this_machine_that_is_provably_gone_counts_as_gone()
    {
        var parts = SqliteBodyWrites.OwnerOfThisProcess.Split('|');
        var start = long.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);

        Assert.False(SqliteBodyWrites.OwnerIsGone(SqliteBodyWrites.OwnerOfThisProcess));
        Assert.False(SqliteBodyWrites.OwnerIsGone("another-machine|2000000000|0"));
        Assert.False(SqliteBodyWrites.OwnerIsGone("not an owner"));
        Assert.False(SqliteBodyWrites.OwnerIsGone($"{Environment.MachineName}|x|0"));
        Assert.True(SqliteBodyWrites.OwnerIsGone($"{Environment.MachineName}|2000000000|0"));
        // This process's id, but another start: an earlier process that had the same id.
        Assert.True(SqliteBodyWrites.OwnerIsGone($"{Environment.MachineName}|{Environment.ProcessId}|{start - TimeSpan.FromHours(1).Ticks}"));
    }
}
