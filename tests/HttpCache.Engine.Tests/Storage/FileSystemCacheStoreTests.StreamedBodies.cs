using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.FileSystem;

namespace HttpCache.Engine.Tests.Storage;

public sealed partial class FileSystemCacheStoreTests
{
    // ---- Streamed bodies ----

    [Fact]
    public async Task A_streamed_body_file_holds_the_bytes_as_received_and_its_meta_file_their_hash()
    {
        var body = Bytes((3 * 1024 * 1024 / 2) + 5, seed: 40);

        await WriteStreamedAsync(Streaming, EngineStreamRecord(), body);

        Assert.Equal(body, await File.ReadAllBytesAsync(EngineFile(".body")));
        using var meta = JsonDocument.Parse(await File.ReadAllBytesAsync(EngineFile(".meta")));
        var root = meta.RootElement;
        Assert.True(root.GetProperty("bodyStreamed").GetBoolean());
        Assert.Equal(body.Length, root.GetProperty("bodyLength").GetInt64());
        Assert.Equal(body.Length + 3, root.GetProperty("size").GetInt64());
        Assert.Equal(EntryFormats.Crc32C(body).ToString("x8", CultureInfo.InvariantCulture), root.GetProperty("bodyCrc32c").GetString());
        Assert.DoesNotContain(FilesUnder(CacheFolder), f => f.EndsWith(".tmp", StringComparison.Ordinal));

        // A whole-body write of the same entry writes no bodyStreamed field: its files stay as before.
        await Store.SetAsync(EngineRecord(EngineVariantKey, [1, 2]));
        using var plain = JsonDocument.Parse(await File.ReadAllBytesAsync(EngineFile(".meta")));
        Assert.False(plain.RootElement.TryGetProperty("bodyStreamed", out _));
    }

    [Fact]
    public async Task A_streamed_write_in_progress_keeps_its_temporary_file_through_every_cleanup()
    {
        var body = Bytes(2 * 1024 * 1024, seed: 41);
        var shard = Path.Combine(CacheFolder, "01");
        await using var writer = await Streaming.BeginWriteAsync(EngineStreamRecord());
        await writer.WriteAsync(body.AsMemory(0, 1024 * 1024));
        var live = Assert.Single(Directory.GetFiles(shard, "*.tmp"));
        Assert.StartsWith(EngineVariantKey + ".body.", Path.GetFileName(live), StringComparison.Ordinal);

        var stray = Path.Combine(shard, EngineVariantKey + ".body." + Guid.NewGuid().ToString("N") + ".tmp");
        await File.WriteAllTextAsync(stray, "a crashed writer's");
        await Store.RemoveAsync(CacheQuery.All);
        Assert.False(File.Exists(stray));
        Assert.True(File.Exists(live));

        // A limited store's first write scans every shard, deleting the temporary files it finds abandoned.
        var limited = OpenAnother(limits: new StoreLimits { MaxEntries = 10 }, asAnotherProcess: true);
        await limited.SetAsync(Record("other"));
        Assert.True(File.Exists(live));

        await writer.WriteAsync(body.AsMemory(1024 * 1024));
        await writer.CommitAsync();
        Assert.Equal(body, await ReadBodyAsync(Streaming, EngineVariantKey));
        Assert.Equal(0, await LeftoversAsync(Store));
    }

    [Fact]
    public async Task A_temporary_file_another_process_holds_open_is_deleted_only_once_released()
    {
        var shard = Path.Combine(CacheFolder, "01");
        Directory.CreateDirectory(shard);
        // As another process's streamed writer holds its file: open, without sharing (an exclusive flock on Unix).
        var held = Path.Combine(shard, EngineVariantKey + ".body." + Guid.NewGuid().ToString("N") + ".tmp");
        var holder = new FileStream(held, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        try
        {
            await Store.RemoveAsync(CacheQuery.All);
            await WriteStreamedAsync(Streaming, EngineStreamRecord(), Bytes(1024 * 1024 + 1, seed: 42));
            Assert.True(File.Exists(held));
        }
        finally
        {
            await holder.DisposeAsync();
        }

        // Released without a commit: abandoned. The next commit in its shard deletes it.
        await WriteStreamedAsync(Streaming, EngineStreamRecord(), Bytes(1024 * 1024 + 2, seed: 43));
        Assert.False(File.Exists(held));
        Assert.Equal(0, await LeftoversAsync(Store));
    }

    [Fact]
    public async Task A_streamed_body_changed_by_hand_fails_its_read_at_the_end_and_one_cut_short_is_corrupt()
    {
        var body = Bytes(1024 * 1024 + 10, seed: 44);
        await WriteStreamedAsync(Streaming, EngineStreamRecord(), body);

        var edited = (byte[])body.Clone();
        edited[^1] ^= 0xFF;
        await File.WriteAllBytesAsync(EngineFile(".body"), edited);
        await using (var stream = await Streaming.OpenBodyAsync(EngineVariantKey))
        {
            Assert.NotNull(stream);
            var error = await Assert.ThrowsAsync<IOException>(() => stream.CopyToAsync(Stream.Null));
            Assert.Contains("does not match its meta file", error.Message, StringComparison.Ordinal);
        }

        // Cut short: still the entry as found (its meta file is whole), but its body cannot be opened as whole.
        await File.WriteAllBytesAsync(EngineFile(".body"), body[..^1]);
        Assert.True((await Store.GetAsync(EngineVariantKey))!.BodyStreamed);
        var corrupt = await Assert.ThrowsAsync<CacheStoreException>(() => Streaming.OpenBodyAsync(EngineVariantKey));
        Assert.Equal(CacheStoreFailure.Corrupt, corrupt.Failure);
    }
}
