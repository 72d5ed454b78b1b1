using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.FileSystem;
using HttpCache.Engine.Storage.Sqlite;
using HttpCache.Engine.Tests.Storage;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace HttpCache.Engine.Tests.Http;

/// <summary>Large-body tests run alone: they measure the process's memory, which other tests would disturb.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LargeBodyCollection
{
    public const string Name = "Large bodies (alone: they measure memory)";
}

/// <summary>
/// Bodies far larger than memory should hold, through <see cref="HttpCacheSession"/> against a real Kestrel origin:
/// a 1 GiB download is cached by the SQLite and file-system stores and served again while the managed heap stays
/// flat, and downloads that must not be cached (cut short, or grown past MaxBodySize) stream through whole and
/// leave nothing behind. The bodies are generated as they are sent and hashed as they are read: no test ever
/// holds one in memory.
/// </summary>
[Collection(LargeBodyCollection.Name)]
public sealed class LargeBodyTests(OriginFixture fixture, ITestOutputHelper output) : IClassFixture<OriginFixture>
{
    private const long MiB = 1024 * 1024;
    private const long GiB = 1024 * MiB;

    // The target of the issue: caching a 1 GiB download keeps the managed heap under 100 MB.
    private const long HeapCeiling = 100 * 1000 * 1000;

    private readonly TestOrigin origin = fixture.Origin;

    public static TheoryData<string> Backends => new() { "Sqlite", "FileSystem" };

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_1_GiB_download_is_cached_and_served_again_with_the_managed_heap_flat(string backend)
    {
        using var folder = new TempDirectory("large-");
        await using var cache = CacheHarness.Over(OpenStore(backend, folder.Path), CacheSettings.Default with { MaxBodySize = 2 * GiB });
        var path = MapGenerated("gigabyte", GiB, withLength: true);
        var expected = GeneratedBody.Sha256(GiB);
        var memory = MemoryPeak.Start();

        var clock = Stopwatch.StartNew();
        var (missHash, missLength, missInfo) = await DownloadAsync(cache, path, memory);
        var missTime = clock.Elapsed;
        var entry = Assert.Single(await cache.EntriesAsync());
        var diskUsed = folder.Bytes();

        clock.Restart();
        var (hitHash, hitLength, hitInfo) = await DownloadAsync(cache, path, memory);
        var hitTime = clock.Elapsed;

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{backend}: 1 GiB miss (stored while read) {missTime.TotalSeconds:0.0} s, hit {hitTime.TotalSeconds:0.0} s; " +
            $"managed heap {memory.BaselineHeap / 1e6:0.0} MB before, peak {memory.PeakHeap / 1e6:0.0} MB; " +
            $"working set {memory.BaselineWorkingSet / 1e6:0} MB before, peak {memory.PeakWorkingSet / 1e6:0} MB; " +
            $"on disk {diskUsed / 1e6:0} MB after the miss."));

        Assert.Equal(GiB, missLength);
        Assert.Equal(expected, missHash);
        Assert.False(missInfo.FromCache);
        Assert.Equal(CacheReason.Stored, missInfo.StoreReason);
        Assert.True(entry.Size > GiB, $"the entry counts its body: {entry.Size} bytes");
        Assert.True((await cache.Store.GetAsync(entry.Key))!.BodyStreamed);
        Assert.True(diskUsed >= GiB, $"the store holds the body: {diskUsed} bytes on disk");

        Assert.True(hitInfo.FromCache);
        Assert.Equal(GiB, hitLength);
        Assert.Equal(expected, hitHash);
        Assert.Equal(1, origin.RequestCount(path));

        Assert.True(memory.PeakHeap < HeapCeiling, $"the managed heap peaked at {memory.PeakHeap / 1e6:0.0} MB");
        // The process's own memory (the heap, SQLite's page caches, Kestrel's and the client's buffers) stays flat too.
        Assert.True(memory.PeakWorkingSet - memory.BaselineWorkingSet < HeapCeiling,
            $"the working set grew by {(memory.PeakWorkingSet - memory.BaselineWorkingSet) / 1e6:0} MB");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_caller_that_stops_reading_half_way_leaves_nothing_stored(string backend)
    {
        using var folder = new TempDirectory("large-");
        await using var cache = CacheHarness.Over(OpenStore(backend, folder.Path), CacheSettings.Default with { MaxBodySize = 2 * GiB });
        var path = MapGenerated("half", 48 * MiB, withLength: false);

        var response = await cache.Session.SendAsync(new HttpRequestMessage(HttpMethod.Get, origin.Url(path)), completion: HttpCompletionOption.ResponseHeadersRead);
        await using (var body = await response.Content.ReadAsStreamAsync())
        {
            var buffer = new byte[81_920];
            long read = 0;
            while (read < 24 * MiB)
            {
                var n = await body.ReadAsync(buffer);
                Assert.True(n > 0, "the body ended early");
                read += n;
            }
        }

        response.Dispose();

        Assert.Empty(await cache.EntriesAsync());
        Assert.Equal(0, await LeftoversAsync(cache.Store));
        Assert.True(await BytesInUseAsync(cache.Store) < 8 * MiB, $"{await BytesInUseAsync(cache.Store)} bytes remain in use");

        // Nothing was kept as if whole: the next request goes to the origin again, and that one is kept.
        var (hash, length, info) = await DownloadAsync(cache, path, MemoryPeak.Start());
        Assert.False(info.FromCache);
        Assert.Equal(48 * MiB, length);
        Assert.Equal(GeneratedBody.Sha256(48 * MiB), hash);
        Assert.Equal(2, origin.RequestCount(path));
        Assert.Single(await cache.EntriesAsync());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_body_that_outgrows_MaxBodySize_mid_stream_reaches_the_caller_whole_and_is_not_stored(string backend)
    {
        using var folder = new TempDirectory("large-");
        await using var cache = CacheHarness.Over(OpenStore(backend, folder.Path), CacheSettings.Default with { MaxBodySize = 8 * MiB });
        // No Content-Length: only the bytes themselves tell that the body is too large.
        var path = MapGenerated("outgrows", 24 * MiB, withLength: false);

        var (hash, length, info) = await DownloadAsync(cache, path, MemoryPeak.Start());
        var again = await DownloadAsync(cache, path, MemoryPeak.Start());

        Assert.Equal(24 * MiB, length);
        Assert.Equal(GeneratedBody.Sha256(24 * MiB), hash);
        Assert.Equal(CacheReason.NotStorableTooLarge, info.StoreReason);
        Assert.False(again.Info.FromCache);
        Assert.Equal(hash, again.Hash);
        Assert.Equal(2, origin.RequestCount(path));
        Assert.Empty(await cache.EntriesAsync());
        Assert.Equal(0, await LeftoversAsync(cache.Store));
        Assert.True(await BytesInUseAsync(cache.Store) < 8 * MiB, $"{await BytesInUseAsync(cache.Store)} bytes remain in use");
    }

    private static ICacheStore OpenStore(string backend, string folder) => backend switch
    {
        "Sqlite" => new SqliteCacheStore(Path.Combine(folder, "cache.sqlite")),
        "FileSystem" => new FileSystemCacheStore(Path.Combine(folder, "cache")),
        _ => throw new ArgumentOutOfRangeException(nameof(backend), backend, "Sqlite or FileSystem."),
    };

    // The file system: every file's bytes. SQLite: the pages in use (a database file keeps the pages it frees, for
    // later writes to reuse; they hold nothing) and the body files beside it.
    private static async Task<long> BytesInUseAsync(ICacheStore store)
    {
        if (store is SqliteCacheStore)
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = store.Location, Pooling = false }.ToString());
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT (p.page_count - f.freelist_count) * s.page_size FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s";
            return (long)(await command.ExecuteScalarAsync())! + SqliteLeftovers.BodyFileBytes(store.Location);
        }

        return Directory.EnumerateFiles(store.Location, "*", SearchOption.AllDirectories).Sum(file => new FileInfo(file).Length);
    }

    // Pending writes, and chunks and body files nothing points at (SQLite), temporary files (file system).
    private static async Task<long> LeftoversAsync(ICacheStore store)
    {
        if (store is SqliteCacheStore)
        {
            return await SqliteLeftovers.CountAsync(store.Location);
        }

        return Directory.EnumerateFiles(store.Location, "*.tmp", SearchOption.AllDirectories).LongCount();
    }

    /// <summary>A path that answers a generated body of <paramref name="length"/> bytes, fresh for ten minutes.</summary>
    private string MapGenerated(string name, long length, bool withLength)
    {
        var path = origin.NewPath(name);
        origin.Map(path, async context =>
        {
            context.Response.Headers.CacheControl = "max-age=600";
            context.Response.ContentType = "application/octet-stream";
            if (withLength)
            {
                context.Response.ContentLength = length;
            }

            await GeneratedBody.WriteAsync(context.Response.Body, length, context.RequestAborted);
        });
        return path;
    }

    /// <summary>A GET whose body is read as it arrives into a SHA-256, never kept; memory is sampled every 4 MiB.</summary>
    private async Task<(byte[] Hash, long Length, CacheResponseInfo Info)> DownloadAsync(CacheHarness cache, string path, MemoryPeak memory)
    {
        using var response = await cache.Session.SendAsync(
            new HttpRequestMessage(HttpMethod.Get, origin.Url(path)), completion: HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.IsSuccessStatusCode, $"status {(int)response.StatusCode}");
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[81_920];
        long total = 0, nextSample = 0;
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            sha.AppendData(buffer, 0, read);
            total += read;
            if (total >= nextSample)
            {
                memory.Sample();
                nextSample += 4 * MiB;
            }
        }

        memory.Sample();
        return (sha.GetHashAndReset(), total, response.GetCacheInfo() ?? throw new InvalidOperationException("The answer carries no cache info."));
    }

    /// <summary>The highest managed heap and working set seen, from a baseline taken after a full collection.</summary>
    private sealed class MemoryPeak
    {
        public long BaselineHeap { get; private init; }

        public long BaselineWorkingSet { get; private init; }

        public long PeakHeap { get; private set; }

        public long PeakWorkingSet { get; private set; }

        public static MemoryPeak Start()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var heap = GC.GetTotalMemory(false);
            var workingSet = Environment.WorkingSet;
            return new MemoryPeak { BaselineHeap = heap, BaselineWorkingSet = workingSet, PeakHeap = heap, PeakWorkingSet = workingSet };
        }

        public void Sample()
        {
            PeakHeap = Math.Max(PeakHeap, GC.GetTotalMemory(false));
            PeakWorkingSet = Math.Max(PeakWorkingSet, Environment.WorkingSet);
        }
    }
}
