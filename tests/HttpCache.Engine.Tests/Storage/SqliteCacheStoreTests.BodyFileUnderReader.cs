using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// Schema 7: a reader holds its body file open, not a transaction. The entry removed or replaced under it deletes the
/// file from the folder at once, and the reader still reads the body it opened to its end; a reader that comes after
/// finds the entry gone (a miss), or the new body.
/// </summary>
public sealed partial class SqliteCacheStoreTests
{
    [Fact]
    public async Task A_file_deleted_under_an_open_reader_is_still_read_whole()
    {
        var v1 = Bytes(FileBody, seed: 120);
        await WriteStreamedAsync(Streaming, StreamRecord("k"), v1);
        var file = Assert.Single(SqliteLeftovers.BodyFiles(DatabasePath)).Value;

        await using var reader = (await Streaming.OpenBodyAsync("k"))!;
        var head = new byte[1000];
        await reader.ReadExactlyAsync(head);

        // Removed by another store on the file, as another process would.
        Assert.Equal(1, await OpenAnother().RemoveAsync(CacheQuery.All));
        Assert.False(File.Exists(file.FullName));
        Assert.Null(await Streaming.OpenBodyAsync("k"));

        using var rest = new MemoryStream();
        await reader.CopyToAsync(rest);
        Assert.Equal(v1, head.Concat(rest.ToArray()).ToArray());
    }

    [Fact]
    public async Task A_reader_opened_before_a_replace_reads_the_old_body_and_the_next_reads_the_new()
    {
        var v1 = Bytes(FileBody, seed: 121);
        var v2 = Bytes(FileBody + 10, seed: 122);
        await WriteStreamedAsync(Streaming, StreamRecord("k"), v1);
        await using var early = (await Streaming.OpenBodyAsync("k"))!;

        await WriteStreamedAsync(OpenAnother(), StreamRecord("k"), v2);
        Assert.Single(SqliteLeftovers.BodyFiles(DatabasePath));

        using var old = new MemoryStream();
        await early.CopyToAsync(old);
        Assert.Equal(v1, old.ToArray());
        Assert.Equal(v2, await ReadBodyAsync(Streaming, "k"));
        await using var late = (await Streaming.OpenBodyAsync("k"))!;
        Assert.Equal(v2.Length, late.Length);
    }
}
