using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using HttpCache.Engine;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.FileSystem;
using HttpCache.Engine.Storage.Sqlite;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Benchmarks;

/// <summary>
/// Peak memory while caching a 1 GiB download (the target: under 100 MB), measured without
/// BenchmarkDotNet: one run is the measurement, and what counts is a peak, not a mean.
/// <code>dotnet run -c Release --project tests/HttpCache.Benchmarks -- --large-body [--size-mib N]</code>
/// For SQLite and then the file system: a loopback origin streams a generated body with its Content-Length;
/// a session with MaxBodySize 2 GiB fetches it (a miss, stored while it is read) and fetches it again (a hit,
/// read back from the store). The caller reads with <see cref="HttpCompletionOption.ResponseHeadersRead"/> into a
/// SHA-256 and keeps nothing. A sampler reads the managed heap and the working set every 5 ms; the kernel's own
/// high-water mark (VmHWM) is printed too. Needs about 1.2 GiB free in the temporary folder, used one backend
/// at a time and deleted after.
/// </summary>
internal static class LargeBodyMemory
{
    public const string Switch = "--large-body";

    private const long MiB = 1024 * 1024;
    private const long HeapTarget = 100 * 1000 * 1000;

    public static async Task<int> RunAsync(string[] args)
    {
        var size = 1024 * MiB;
        var sizeAt = Array.FindIndex(args, a => string.Equals(a, "--size-mib", StringComparison.OrdinalIgnoreCase));
        if (sizeAt >= 0 && sizeAt + 1 < args.Length)
        {
            size = long.Parse(args[sizeAt + 1], CultureInfo.InvariantCulture) * MiB;
        }

        var temp = Path.GetTempPath();
        var free = new DriveInfo(Path.GetPathRoot(Path.GetFullPath(temp))!).AvailableFreeSpace;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Large body: {size / MiB} MiB per backend; {free / (double)(1L << 30):0.0} GiB free under {temp}; {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}."));
        if (free < size + (size / 4) + (256 * MiB))
        {
            Console.Error.WriteLine("Not enough free space for the run.");
            return 2;
        }

        await using var origin = await TestOrigin.StartAsync().ConfigureAwait(false);
        const string path = "/large-body";
        origin.Map(path, async context =>
        {
            context.Response.Headers.CacheControl = "max-age=3600";
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = size;
            await GeneratedBody.WriteAsync(context.Response.Body, size, context.RequestAborted).ConfigureAwait(false);
        });
        var expected = GeneratedBody.Sha256(size);

        var failed = false;
        Console.WriteLine();
        Console.WriteLine("| Backend    | Phase | Time (s) | MB/s  | Peak heap (MB) | Heap before (MB) | Peak working set (MB) | Working set before (MB) | Allocated (MB) | Gen2 GCs | On disk (MB) |");
        Console.WriteLine("|------------|-------|---------:|------:|---------------:|-----------------:|----------------------:|------------------------:|---------------:|---------:|-------------:|");
        foreach (var backend in new[] { "Sqlite", "FileSystem" })
        {
            var folder = Fixtures.NewTempFolder("large-body");
            try
            {
                ICacheStore store = backend == "Sqlite"
                    ? new SqliteCacheStore(Path.Combine(folder, "cache.sqlite"))
                    : new FileSystemCacheStore(Path.Combine(folder, "cache"));
                await using var session = new HttpCacheSession(store, CacheSettings.Default with { MaxBodySize = 2 * 1024 * MiB }, name: "large-body");
                foreach (var phase in new[] { "miss", "hit" })
                {
                    var (hash, length, info, measure) = await DownloadAsync(session, origin.Url(path)).ConfigureAwait(false);
                    var ok = length == size && hash.AsSpan().SequenceEqual(expected) && info.FromCache == (phase == "hit");
                    failed |= !ok || measure.PeakHeap >= HeapTarget;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {backend,-10} | {phase,-5} | {measure.Elapsed.TotalSeconds,8:0.00} | {size / MiB / measure.Elapsed.TotalSeconds,5:0} | {measure.PeakHeap / 1e6,14:0.0} | {measure.BaselineHeap / 1e6,16:0.0} | {measure.PeakWorkingSet / 1e6,21:0} | {measure.BaselineWorkingSet / 1e6,23:0} | {measure.Allocated / 1e6,14:0} | {measure.Gen2,8} | {FolderBytes(folder) / 1e6,12:0} |{(ok ? "" : " WRONG BODY OR NOT A " + phase.ToUpperInvariant())}"));
                }
            }
            finally
            {
                Fixtures.DeleteTempFolder(folder);
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Process high-water mark (VmHWM, the whole run): {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:0} MB. Target: peak managed heap under {HeapTarget / 1e6:0} MB."));
        return failed ? 1 : 0;
    }

    private static long FolderBytes(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(file => new FileInfo(file).Length);

    private static async Task<(byte[] Hash, long Length, CacheResponseInfo Info, Measure Measure)> DownloadAsync(HttpCacheSession session, Uri url)
    {
        using var measure = Measure.Start();
        using var response = await session.SendAsync(new HttpRequestMessage(HttpMethod.Get, url), completion: HttpCompletionOption.ResponseHeadersRead)
            .ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            var buffer = new byte[81_920];
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                sha.AppendData(buffer, 0, read);
                total += read;
            }

            measure.Stop();
            return (sha.GetHashAndReset(), total, response.GetCacheInfo() ?? throw new InvalidOperationException("No cache info."), measure);
        }
    }

    /// <summary>Time, allocations and the peaks a background sampler sees between Start and Stop.</summary>
    private sealed class Measure : IDisposable
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly CancellationTokenSource _stop = new();
        private readonly long _allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        private readonly int _gen2Before = GC.CollectionCount(2);
        private Task? _sampler;
        private long _peakHeap;
        private long _peakWorkingSet;

        public long BaselineHeap { get; private init; }

        public long BaselineWorkingSet { get; private init; }

        public long PeakHeap => Interlocked.Read(ref _peakHeap);

        public long PeakWorkingSet => Interlocked.Read(ref _peakWorkingSet);

        public TimeSpan Elapsed { get; private set; }

        public long Allocated { get; private set; }

        public int Gen2 { get; private set; }

        public static Measure Start()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var measure = new Measure { BaselineHeap = GC.GetTotalMemory(false), BaselineWorkingSet = Environment.WorkingSet };
            measure._peakHeap = measure.BaselineHeap;
            measure._peakWorkingSet = measure.BaselineWorkingSet;
            measure._sampler = Task.Run(measure.SampleAsync);
            return measure;
        }

        public void Stop()
        {
            Elapsed = _clock.Elapsed;
            Allocated = GC.GetTotalAllocatedBytes(precise: false) - _allocatedBefore;
            Gen2 = GC.CollectionCount(2) - _gen2Before;
            Sample();
            _stop.Cancel();
            _sampler?.GetAwaiter().GetResult();
        }

        public void Dispose()
        {
            if (!_stop.IsCancellationRequested)
            {
                _stop.Cancel();
                _sampler?.GetAwaiter().GetResult();
            }

            _stop.Dispose();
        }

        private async Task SampleAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    Sample();
                    await Task.Delay(5, _stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }

        private void Sample()
        {
            Max(ref _peakHeap, GC.GetTotalMemory(false));
            Max(ref _peakWorkingSet, Environment.WorkingSet);
        }

        private static void Max(ref long peak, long value)
        {
            var seen = Interlocked.Read(ref peak);
            while (value > seen)
            {
                var previous = Interlocked.CompareExchange(ref peak, value, seen);
                if (previous == seen)
                {
                    return;
                }

                seen = previous;
            }
        }
    }
}
