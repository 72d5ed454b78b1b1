using System.Security.Cryptography;
using System.Text;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// The <see cref="IStreamingCacheStore"/> contract, on top of the <see cref="ICacheStore"/> one: bodies written
/// in pieces, invisible until committed, gone without a trace when abandoned, read back as streams. Every
/// streaming backend's test class inherits it and says how to look at what it keeps on disk.
/// </summary>
public abstract class StreamingStoreContractTests : CacheStoreContractTests
{
    private const int MiB = 1024 * 1024;

    protected IStreamingCacheStore Streaming => (IStreamingCacheStore)Store;

    /// <summary>
    /// What the store keeps of writes that are not entries: pending writes and their chunks (SQLite), temporary
    /// files (file system). Zero whenever no write is in progress.
    /// </summary>
    protected abstract Task<long> LeftoversAsync(ICacheStore store);

    /// <summary>Every body byte the store keeps, in entries and in unfinished writes alike.</summary>
    protected abstract Task<long> BodyBytesAsync(ICacheStore store);

    /// <summary>A second store on the same file or folder as <see cref="CacheStoreContractTests.Store"/>, closed with the test.</summary>
    protected abstract ICacheStore OpenAnotherOnTheSameLocation();

    [Fact]
    public async Task Two_stores_on_one_location_see_each_others_writes()
    {
        var other = OpenAnotherOnTheSameLocation();

        await Store.SetAsync(Record("from-first", primaryKey: "P"));
        await other.SetAsync(Record("from-second", primaryKey: "P"));
        await Store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 2 });
        await other.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 3 });
        await other.RecordAccessAsync([new EntryAccess("from-first", 1, T0)]);
        await other.UpdateExpirationAsync("from-first", T0.AddHours(1), null);

        Assert.Equal(2, (await Store.GetVariantsAsync("P")).Count);
        Assert.Equal(2, (await other.GetVariantsAsync("P")).Count);
        Assert.Equal(5, (await Store.GetCountersAsync())["hits"]);
        var first = await Store.GetAsync("from-first");
        Assert.Equal(1, first?.HitCount);
        Assert.Equal(T0.AddHours(1), first?.ExpiresAt);

        Assert.Equal(1, await other.RemoveAsync(new CacheQuery { Key = "from-first" }));
        Assert.Null(await Store.GetAsync("from-first"));
    }

    [Fact]
    public async Task Entries_and_counters_survive_closing_and_reopening()
    {
        await Store.SetAsync(Record("k1", body: "persisted"));
        await Store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 4 });
        await Store.DisposeAsync();

        var reopened = OpenAnotherOnTheSameLocation();

        Assert.Equal("persisted", Encoding.UTF8.GetString((await reopened.GetAsync("k1"))!.Body));
        Assert.Equal(4, (await reopened.GetCountersAsync())["hits"]);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Store.GetAsync("k1"));
    }

    protected static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A record to stream: its Body says it is ignored, which the store must do.</summary>
    protected static CacheRecord StreamRecord(string key, string? primaryKey = null, DateTimeOffset? createdAt = null, string metadata = "streamed-meta") => new()
    {
        Key = key,
        PrimaryKey = primaryKey ?? "GET\u001ehttps://example.test/" + key,
        Method = "GET",
        Uri = "https://example.test/" + key,
        StatusCode = 200,
        CreatedAt = createdAt ?? T0,
        ExpiresAt = T0.AddHours(1),
        KeepUntil = T0.AddDays(1),
        HitCount = 2,
        LastAccessedAt = createdAt ?? T0,
        BodyStreamed = true,
        Metadata = Encoding.UTF8.GetBytes(metadata + ":" + key),
        Body = Encoding.UTF8.GetBytes("ignored: the body comes through the writer"),
    };

    /// <summary>Writes a body in pieces of <paramref name="piece"/> bytes (odd-sized, as the network gives them) and commits.</summary>
    protected static async Task WriteStreamedAsync(IStreamingCacheStore store, CacheRecord record, byte[] body, int piece = 100_003)
    {
        await using var writer = await store.BeginWriteAsync(record);
        for (var offset = 0; offset < body.Length; offset += piece)
        {
            await writer.WriteAsync(body.AsMemory(offset, Math.Min(piece, body.Length - offset)));
        }

        await writer.CommitAsync();
    }

    protected static async Task<byte[]?> ReadBodyAsync(IStreamingCacheStore store, string key)
    {
        await using var stream = await store.OpenBodyAsync(key);
        if (stream is null)
        {
            return null;
        }

        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private static void AssertSameBytes(byte[] expected, byte[]? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(expected.AsSpan().SequenceEqual(actual), "the bytes differ");
    }

    [Fact]
    public async Task A_streamed_entry_round_trips_and_its_record_carries_no_body()
    {
        // Not a multiple of any chunk size, written in odd pieces.
        var body = Bytes((5 * MiB / 2) + 7, seed: 1);
        var record = StreamRecord("s1", primaryKey: "P");

        await WriteStreamedAsync(Streaming, record, body);

        var stored = await Store.GetAsync("s1");
        Assert.NotNull(stored);
        Assert.True(stored.BodyStreamed);
        Assert.Empty(stored.Body);
        Assert.Equal(record.Metadata, stored.Metadata);
        Assert.Equal(record.Metadata.Length + body.Length, stored.Size);
        Assert.Equal((record.PrimaryKey, record.Method, record.Uri, record.StatusCode), (stored.PrimaryKey, stored.Method, stored.Uri, stored.StatusCode));
        Assert.Equal((record.CreatedAt, record.ExpiresAt, record.KeepUntil), (stored.CreatedAt, stored.ExpiresAt, stored.KeepUntil));
        Assert.Equal((record.HitCount, record.LastAccessedAt), (stored.HitCount, stored.LastAccessedAt));

        var variant = Assert.Single(await Store.GetVariantsAsync("P"));
        Assert.True(variant.BodyStreamed);
        Assert.Empty(variant.Body);

        AssertSameBytes(body, await ReadBodyAsync(Streaming, "s1"));
        var listed = Assert.Single(await ToListAsync(Store.ListAsync(CacheQuery.All)));
        Assert.Equal(stored.Size, listed.Size);
        Assert.Equal(new StoreInventory(1, stored.Size, T0, T0), await Store.GetInventoryAsync());
        Assert.Equal(0, await LeftoversAsync(Store));
        Assert.Equal(body.Length, await BodyBytesAsync(Store));
    }

    [Fact]
    public async Task An_empty_streamed_body_and_a_normal_body_both_open_as_streams()
    {
        await WriteStreamedAsync(Streaming, StreamRecord("empty"), []);
        await Store.SetAsync(Record("normal", body: "a normal body"));

        Assert.Equal(0, (await Store.GetAsync("empty"))!.Size - StreamRecord("empty").Metadata.Length);
        AssertSameBytes([], await ReadBodyAsync(Streaming, "empty"));
        AssertSameBytes(Encoding.UTF8.GetBytes("a normal body"), await ReadBodyAsync(Streaming, "normal"));
        Assert.Null(await ReadBodyAsync(Streaming, "missing"));
    }

    [Fact]
    public async Task Nothing_is_visible_before_the_commit()
    {
        await Store.SetAsync(Record("k", body: "old body"));
        var body = Bytes(3 * MiB / 2, seed: 2);

        await using var replacing = await Streaming.BeginWriteAsync(StreamRecord("k"));
        await using var adding = await Streaming.BeginWriteAsync(StreamRecord("n"));
        await replacing.WriteAsync(body);
        await adding.WriteAsync(body);

        var old = await Store.GetAsync("k");
        Assert.NotNull(old);
        Assert.False(old.BodyStreamed);
        Assert.Equal("old body", Encoding.UTF8.GetString(old.Body));
        AssertSameBytes(Encoding.UTF8.GetBytes("old body"), await ReadBodyAsync(Streaming, "k"));
        Assert.Null(await Store.GetAsync("n"));
        Assert.Empty(await Store.GetVariantsAsync(StreamRecord("n").PrimaryKey));
        Assert.Null(await Streaming.OpenBodyAsync("n"));
        Assert.Equal(["k"], await ListKeysAsync(Store, CacheQuery.All));
        Assert.Equal(1, (await Store.GetInventoryAsync()).Entries);

        await replacing.CommitAsync();
        await adding.CommitAsync();

        Assert.True((await Store.GetAsync("k"))!.BodyStreamed);
        AssertSameBytes(body, await ReadBodyAsync(Streaming, "k"));
        AssertSameBytes(body, await ReadBodyAsync(Streaming, "n"));
        Assert.Equal(["k", "n"], await ListKeysAsync(Store, CacheQuery.All));
    }

    [Fact]
    public async Task An_abandoned_write_leaves_nothing_behind()
    {
        await Store.SetAsync(Record("kept", body: "kept body"));
        var bytesBefore = await BodyBytesAsync(Store);

        await using (var writer = await Streaming.BeginWriteAsync(StreamRecord("gone")))
        {
            await writer.WriteAsync(Bytes(3 * MiB, seed: 3));
            Assert.True(await LeftoversAsync(Store) > 0, "a write in progress keeps its data somewhere");
        }

        await using (var writer = await Streaming.BeginWriteAsync(StreamRecord("kept")))
        {
            await writer.WriteAsync(Bytes(2 * MiB, seed: 4));
        }

        Assert.Null(await Store.GetAsync("gone"));
        Assert.Null(await Streaming.OpenBodyAsync("gone"));
        Assert.Equal("kept body", Encoding.UTF8.GetString((await Store.GetAsync("kept"))!.Body));
        Assert.Equal(1, (await Store.GetInventoryAsync()).Entries);
        Assert.Equal(0, await LeftoversAsync(Store));
        Assert.Equal(bytesBefore, await BodyBytesAsync(Store));
    }

    [Fact]
    public async Task A_writer_refuses_writes_after_its_commit_and_disposing_it_then_changes_nothing()
    {
        var body = Bytes(MiB + 1, seed: 5);
        var writer = await Streaming.BeginWriteAsync(StreamRecord("w"));
        await writer.WriteAsync(body);
        await writer.CommitAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await writer.WriteAsync(new byte[1]));
        await Assert.ThrowsAsync<InvalidOperationException>(() => writer.CommitAsync());
        await writer.DisposeAsync();
        await writer.DisposeAsync();

        AssertSameBytes(body, await ReadBodyAsync(Streaming, "w"));
        Assert.Equal(0, await LeftoversAsync(Store));
    }

    [Fact]
    public async Task Streamed_and_normal_versions_replace_each_other_and_only_the_latest_body_is_kept()
    {
        var first = Bytes(3 * MiB, seed: 6);
        await WriteStreamedAsync(Streaming, StreamRecord("k"), first);

        await Store.SetAsync(Record("k", body: "small"));
        var normal = await Store.GetAsync("k");
        Assert.False(normal!.BodyStreamed);
        Assert.Equal("small", Encoding.UTF8.GetString(normal.Body));
        AssertSameBytes(Encoding.UTF8.GetBytes("small"), await ReadBodyAsync(Streaming, "k"));
        Assert.Equal(5, await BodyBytesAsync(Store));

        var second = Bytes(2 * MiB, seed: 7);
        await WriteStreamedAsync(Streaming, StreamRecord("k"), second);
        Assert.True((await Store.GetAsync("k"))!.BodyStreamed);
        AssertSameBytes(second, await ReadBodyAsync(Streaming, "k"));
        Assert.Equal(second.Length, await BodyBytesAsync(Store));

        var third = Bytes((6 * MiB / 5) + 3, seed: 8);
        await WriteStreamedAsync(Streaming, StreamRecord("k", metadata: "third"), third);
        var stored = await Store.GetAsync("k");
        Assert.Equal(StreamRecord("k", metadata: "third").Metadata, stored!.Metadata);
        AssertSameBytes(third, await ReadBodyAsync(Streaming, "k"));
        Assert.Equal(third.Length, await BodyBytesAsync(Store));
        Assert.Equal(new StoreInventory(1, stored.Size, T0, T0), await Store.GetInventoryAsync());
        Assert.Equal(0, await LeftoversAsync(Store));
    }

    [Fact]
    public async Task Limits_count_streamed_sizes_and_evict_streamed_entries_with_their_bodies()
    {
        var store = (IStreamingCacheStore)await LimitedStoreAsync(new StoreLimits { MaxBytes = 5 * MiB });
        var body = Bytes(2 * MiB, seed: 9);
        for (var i = 0; i < 3; i++)
        {
            await WriteStreamedAsync(store, StreamRecord($"e{i}", createdAt: T0.AddSeconds(i)), body);
        }

        // e0 was the least recently used: it went, with its body.
        Assert.Equal(["e1", "e2"], (await ListKeysAsync(store, CacheQuery.All)).Order(StringComparer.Ordinal));
        Assert.Null(await store.OpenBodyAsync("e0"));
        Assert.Equal(1, await EvictionsAsync(store));
        var size = StreamRecord("e1").Metadata.Length + body.Length;
        Assert.Equal(2 * size, (await store.GetInventoryAsync()).Bytes);
        Assert.Equal(2 * body.Length, await BodyBytesAsync(store));

        // Larger than MaxBytes on its own: not stored, and the version it replaced goes; nothing is evicted for it.
        await WriteStreamedAsync(store, StreamRecord("e1"), Bytes(6 * MiB, seed: 10));
        Assert.Null(await store.GetAsync("e1"));
        Assert.Equal(["e2"], await ListKeysAsync(store, CacheQuery.All));
        Assert.Equal(1, await EvictionsAsync(store));
        Assert.Equal(body.Length, await BodyBytesAsync(store));
        Assert.Equal(0, await LeftoversAsync(store));
        AssertSameBytes(body, await ReadBodyAsync(store, "e2"));
    }

    [Fact]
    public async Task MaxEntries_counts_streamed_entries_like_any_other()
    {
        var store = (IStreamingCacheStore)await LimitedStoreAsync(new StoreLimits { MaxEntries = 2 });
        await store.SetAsync(Record("normal", createdAt: T0));
        await WriteStreamedAsync(store, StreamRecord("s1", createdAt: T0.AddSeconds(1)), Bytes(MiB + 5, seed: 11));
        await WriteStreamedAsync(store, StreamRecord("s2", createdAt: T0.AddSeconds(2)), Bytes(MiB + 5, seed: 12));

        Assert.Equal(["s1", "s2"], await ListKeysAsync(store, CacheQuery.All));
        await store.RecordAccessAsync([new EntryAccess("s1", 1, T0.AddSeconds(10))]);
        await store.SetAsync(Record("latest", createdAt: T0.AddSeconds(3)));

        // s2 is now the least recently used.
        Assert.Equal(["latest", "s1"], (await ListKeysAsync(store, CacheQuery.All)).Order(StringComparer.Ordinal));
        Assert.Equal(2, await EvictionsAsync(store));
        Assert.Equal(MiB + 5 + "body".Length, await BodyBytesAsync(store));
    }

    [Fact]
    public async Task Removing_streamed_entries_removes_their_bodies()
    {
        var a = Bytes(2 * MiB, seed: 13);
        var b = Bytes(MiB + 100, seed: 14);
        await WriteStreamedAsync(Streaming, StreamRecord("a", primaryKey: "P"), a);
        await WriteStreamedAsync(Streaming, StreamRecord("b", primaryKey: "P"), b);
        await WriteStreamedAsync(Streaming, StreamRecord("c", primaryKey: "Q", createdAt: T0.AddDays(-1)), b);

        Assert.Equal(1, await Store.RemoveAsync(new CacheQuery { Key = "a" }));
        Assert.Equal(2L * b.Length, await BodyBytesAsync(Store));
        Assert.Equal(1, await Store.RemoveAsync(new CacheQuery { CreatedBefore = T0 }));
        Assert.Equal(b.Length, await BodyBytesAsync(Store));
        Assert.Equal(1, await Store.RemoveAsync(new CacheQuery { PrimaryKey = "P" }));
        Assert.Equal(0, await BodyBytesAsync(Store));

        await WriteStreamedAsync(Streaming, StreamRecord("d"), a);
        Assert.Equal(1, await Store.RemoveAsync(CacheQuery.All));
        Assert.Equal(0, await BodyBytesAsync(Store));
        Assert.Equal(0, await LeftoversAsync(Store));
        Assert.Null(await Streaming.OpenBodyAsync("d"));
    }

    [Fact]
    public async Task Expiration_updates_and_accesses_keep_a_streamed_entry_streamed()
    {
        var body = Bytes(MiB + 3, seed: 15);
        await WriteStreamedAsync(Streaming, StreamRecord("s"), body);

        Assert.True(await Store.UpdateExpirationAsync("s", T0.AddDays(2), T0.AddDays(3)));
        await Store.RecordAccessAsync([new EntryAccess("s", 4, T0.AddMinutes(5))]);

        var stored = await Store.GetAsync("s");
        Assert.NotNull(stored);
        Assert.True(stored.BodyStreamed);
        Assert.Equal((T0.AddDays(2), T0.AddDays(3)), (stored.ExpiresAt, stored.KeepUntil));
        Assert.Equal(6, stored.HitCount);
        AssertSameBytes(body, await ReadBodyAsync(Streaming, "s"));
    }

    [Fact]
    public async Task A_reader_keeps_reading_the_version_it_opened_while_it_is_replaced_or_removed()
    {
        var v1 = Bytes(3 * MiB, seed: 16);
        var v2 = Bytes(3 * MiB, seed: 17);
        await WriteStreamedAsync(Streaming, StreamRecord("k"), v1);

        await using var early = (await Streaming.OpenBodyAsync("k"))!;
        var head = new byte[MiB];
        await early.ReadExactlyAsync(head);

        await WriteStreamedAsync(Streaming, StreamRecord("k"), v2);
        AssertSameBytes(v2, await ReadBodyAsync(Streaming, "k"));

        await using var second = (await Streaming.OpenBodyAsync("k"))!;
        await Store.RemoveAsync(CacheQuery.All);
        Assert.Null(await Streaming.OpenBodyAsync("k"));

        using var rest = new MemoryStream();
        await early.CopyToAsync(rest);
        AssertSameBytes(v1, [.. head, .. rest.ToArray()]);
        using var all = new MemoryStream();
        await second.CopyToAsync(all);
        AssertSameBytes(v2, all.ToArray());
    }

    [Fact]
    public async Task Concurrent_readers_see_one_whole_version_while_replaces_commit()
    {
        var versions = new[] { Bytes((3 * MiB / 2) + 1, seed: 18), Bytes((3 * MiB / 2) + 1, seed: 19) };
        await WriteStreamedAsync(Streaming, StreamRecord("k"), versions[0]);
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (var i = 1; i <= 8; i++)
            {
                await WriteStreamedAsync(Streaming, StreamRecord("k"), versions[i % 2], piece: 65_536);
            }
        });

        var reads = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            var whole = 0;
            while (!writer.IsCompleted || whole == 0)
            {
                var read = await ReadBodyAsync(Streaming, "k");
                Assert.NotNull(read);
                Assert.True(
                    read.AsSpan().SequenceEqual(versions[0]) || read.AsSpan().SequenceEqual(versions[1]),
                    $"a read of {read.Length} bytes is neither version whole");
                whole++;
            }

            return whole;
        })));

        await writer;
        Assert.All(reads, count => Assert.True(count > 0));
        AssertSameBytes(versions[0], await ReadBodyAsync(Streaming, "k"));
        Assert.Equal(versions[0].Length, await BodyBytesAsync(Store));
        Assert.Equal(0, await LeftoversAsync(Store));
    }

    [Fact]
    public async Task A_20_MiB_body_streamed_in_network_sized_pieces_reads_back_byte_exact()
    {
        var body = Bytes(20 * MiB, seed: 20);
        await WriteStreamedAsync(Streaming, StreamRecord("big"), body, piece: 16_384);

        await using var stream = await Streaming.OpenBodyAsync("big");
        Assert.NotNull(stream);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81_920];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            sha.AppendData(buffer, 0, read);
            total += read;
        }

        Assert.Equal(body.Length, total);
        Assert.Equal(SHA256.HashData(body), sha.GetHashAndReset());
        Assert.Equal(StreamRecord("big").Metadata.Length + body.Length, (await Store.GetAsync("big"))!.Size);
    }
}
