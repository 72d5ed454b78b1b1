using System.Text;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.FileSystem;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// What a writer killed mid-write leaves in a FileSystem cache folder (partial temporary files, a body renamed
/// into place whose meta file never came) is swept when a store opens the folder; entries and a live writer's
/// temporary file are left alone.
/// </summary>
public sealed class FileSystemLeftoverSweepTests : IDisposable
{
    private const string Key = "0123456789abcdef0123456789abcdef";
    private const string Orphan = "0123456789abcdef0123456789abcdee";
    private readonly string folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", "sweep-" + Guid.NewGuid().ToString("N"));

    private string Shard => Path.Combine(folder, FileSystemNames.ShardName(FileSystemNames.ShardOf(Key)));

    private static string Hex => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Opening_the_folder_sweeps_partial_temporary_files_and_orphan_bodies_and_keeps_the_rest()
    {
        await using (var first = new FileSystemCacheStore(folder))
        {
            await first.SetAsync(Record(Key, "kept"));
        }

        // What kills mid-write leave: a streamed body's and an entry's partial temporary files, the counters' and
        // the format probe's, and a body renamed into place whose meta file was never written.
        string[] leftovers =
        [
            Path.Combine(Shard, $"{Orphan}.body.{Hex}.tmp"),
            Path.Combine(Shard, $"{Key}.meta.{Hex}.tmp"),
            Path.Combine(folder, $"counters.json.{Hex}.tmp"),
            Path.Combine(folder, $"probe.{Hex}.tmp"),
            Path.Combine(Shard, $"{Orphan}.body"),
        ];
        foreach (var path in leftovers)
        {
            await File.WriteAllTextAsync(path, "partial");
        }

        var notOurs = Path.Combine(folder, "notes.txt");
        await File.WriteAllTextAsync(notOurs, "a file the user put here");

        await using var reopened = new FileSystemCacheStore(folder);

        Assert.All(leftovers, path => Assert.False(File.Exists(path), path));
        Assert.True(File.Exists(notOurs));
        Assert.Equal("kept", Encoding.UTF8.GetString((await reopened.GetAsync(Key))!.Body));
    }

    [Fact]
    public async Task A_streamed_write_in_progress_keeps_its_temporary_file_and_commits()
    {
        await using var writerStore = new FileSystemCacheStore(folder);
        await using var writer = await writerStore.BeginWriteAsync(Record(Key, string.Empty));
        await writer.WriteAsync(Encoding.UTF8.GetBytes("half"));
        var live = Assert.Single(Directory.EnumerateFiles(Shard, "*.tmp"));

        // Another store opening the folder meanwhile (in this process, or in another one) sweeps around it.
        await using (new FileSystemCacheStore(folder, null, null, shareProcessGate: false))
        {
            Assert.True(File.Exists(live));
        }

        await writer.WriteAsync(Encoding.UTF8.GetBytes(" and the rest"));
        await writer.CommitAsync();
        Assert.Equal("half and the rest", Encoding.UTF8.GetString(await ReadAllAsync((await writerStore.OpenBodyAsync(Key))!)));
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        await using (stream)
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer);
            return buffer.ToArray();
        }
    }

    private static CacheRecord Record(string key, string body) => new()
    {
        Key = key,
        PrimaryKey = key,
        Method = "GET",
        Uri = "https://example.test/" + key,
        StatusCode = 200,
        CreatedAt = DateTimeOffset.UnixEpoch,
        Metadata = [1, 2, 3],
        Body = Encoding.UTF8.GetBytes(body),
    };

    public void Dispose()
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
