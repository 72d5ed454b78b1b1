using BenchmarkDotNet.Attributes;
using HttpCache.Engine;
using HttpCache.Engine.Storage.FileSystem;
using HttpCache.Testing;

namespace HttpCache.Benchmarks;

/// <summary>
/// A cache hit through the engine over the FileSystem store (a GET of a stored URL with a 1 KiB body, read
/// whole) against its floor: <see cref="File.ReadAllBytes(string)"/> of a 1 KiB file in a temporary folder.
/// No target is set for this backend; the ratio is reported.
/// </summary>
[MemoryDiagnoser]
public class FileSystemHit
{
    private string? folder;
    private TestOrigin? origin;
    private HttpCacheSession? session;
    private string floorFile = null!;
    private Uri url = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        folder = Fixtures.NewTempFolder("filesystem-hit");
        floorFile = Path.Combine(folder, "floor.body");
        await File.WriteAllBytesAsync(floorFile, Fixtures.Body);
        Fixtures.Check(RawReadAllBytes().AsSpan().SequenceEqual(Fixtures.Body), "the floor reads the 1 KiB file");

        origin = await Fixtures.StartOriginAsync();
        url = origin.Url(Fixtures.BodyPath);
        session = EngineFixture.Session(new FileSystemCacheStore(Path.Combine(folder, "cache")));
        await EngineFixture.PrestoreAsync(session, origin, url);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await EngineFixture.DisposeAsync(session, origin);
        Fixtures.DeleteTempFolder(folder);
    }

    /// <summary>The floor: one read of a 1 KiB file.</summary>
    [Benchmark(Baseline = true)]
    public byte[] RawReadAllBytes() => File.ReadAllBytes(floorFile);

    /// <summary>A fresh hit through HttpCacheSession over FileSystemCacheStore.</summary>
    [Benchmark]
    public Task<byte[]> EngineHit() => EngineFixture.GetAsync(session!, url);
}
