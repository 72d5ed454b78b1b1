using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using HttpCache.Engine.Storage;

namespace HttpCache.Benchmarks;

/// <summary>
/// What checking a body costs a short-lived process (docs/performance.md, "The cost of checking bodies"), measured
/// without BenchmarkDotNet, which measures optimized code: each figure is a fresh process (as a pwsh script is) that
/// makes 50 untimed calls over 50 bodies, then times 2,000 calls one by one.
/// <code>dotnet run -c Release --project tests/HttpCache.Benchmarks -- --checksum-cost [--rounds N]</code>
/// "first 200" is the median of the first 200 timed calls: code from an IL-only library is still at the JIT's first
/// tier then; in this quiet loop, tiered compilation promotes it after about 100 ms, which a pwsh that keeps compiling
/// new code does not do as soon. "first call" is the very first call (loading and compiling included), "nothing" being
/// a call that hashes nothing. The throughput is the best of 5 runs over 1 GiB in 80 KiB pieces (what a stream copy
/// reads), after 3 untimed runs: optimized code.
/// </summary>
internal static class ChecksumCost
{
    public const string Switch = "--checksum-cost";

    private const string Child = "--checksum-child";

    private static readonly string[] Candidates = ["nothing", "XxHash3", "CRC-32C (BodyChecksum)", "CRC-32C one lane", "SHA-256", "SHA-1", "MD5"];

    private static readonly int[] Sizes = [1024, 64 * 1024, 1024 * 1024];

    public static int Run(string[] args)
    {
        if (Array.IndexOf(args, Child) is var at and >= 0)
        {
            return RunChild(args[at + 1], args[at + 2]);
        }

        var rounds = Array.IndexOf(args, "--rounds") is var r and >= 0 ? int.Parse(args[r + 1], CultureInfo.InvariantCulture) : 3;
        Console.WriteLine($"Checksum cost: {rounds} round(s), a fresh process per figure; load average {LoadAverage()}; {Environment.ProcessorCount} cores.");
        Console.WriteLine("| round | candidate | size | first call µs | median µs, first 200 | median µs, 2,000 | 1 GiB, optimized |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|");
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var candidate in Candidates)
            {
                foreach (var size in Sizes)
                {
                    Console.WriteLine($"| {round} | {candidate} | {size / 1024} KiB | {ChildProcess(candidate, size.ToString(CultureInfo.InvariantCulture))} | |");
                }

                if (candidate != "nothing")
                {
                    Console.WriteLine($"| {round} | {candidate} | 1 GiB | | | | {ChildProcess(candidate, "throughput")} |");
                }
            }
        }

        Console.WriteLine($"Load average after: {LoadAverage()}.");
        return 0;
    }

    private static string ChildProcess(string candidate, string what)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true };
        foreach (var arg in new[] { typeof(ChecksumCost).Assembly.Location, Switch, Child, candidate, what })
        {
            start.ArgumentList.Add(arg);
        }

        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEnd().Trim();
        child.WaitForExit();
        return output;
    }

    private static int RunChild(string candidate, string what)
    {
        if (what == "throughput")
        {
            var piece = new byte[80 * 1024];
            new Random(2).NextBytes(piece);
            var best = TimeSpan.MaxValue;
            for (var run = 0; run < 8; run++)
            {
                var clock = Stopwatch.StartNew();
                Stream(candidate, piece, 1L << 30);
                best = run < 3 || clock.Elapsed > best ? best : clock.Elapsed;
            }

            Console.Write(string.Create(CultureInfo.InvariantCulture, $"{best.TotalMilliseconds:0} ms ({1024 / best.TotalMilliseconds:0.0} GiB/s)"));
            return 0;
        }

        // 50 bodies, as a hit cycles over URLs: not every call finds its body in the cache.
        var size = int.Parse(what, CultureInfo.InvariantCulture);
        var bodies = Enumerable.Range(0, 50).Select(seed =>
        {
            var body = new byte[size];
            new Random(seed).NextBytes(body);
            return body;
        }).ToArray();
        var first = Stopwatch.StartNew();
        var sink = Hash(candidate, bodies[0]);
        var firstCall = first.Elapsed;
        for (var i = 1; i < 50; i++)
        {
            sink ^= Hash(candidate, bodies[i]);
        }

        var times = new double[2000];
        for (var i = 0; i < times.Length; i++)
        {
            var start = Stopwatch.GetTimestamp();
            sink ^= Hash(candidate, bodies[i % 50]);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        GC.KeepAlive(sink);
        Console.Write(string.Create(CultureInfo.InvariantCulture,
            $"{firstCall.TotalMicroseconds:0} | {Median(times.AsSpan(0, 200)):0.0} | {Median(times):0.0}"));
        return 0;
    }

    private static ulong Hash(string candidate, byte[] body)
    {
        Span<byte> digest = stackalloc byte[32];
        switch (candidate)
        {
            case "nothing": return (ulong)body.Length;
            case "XxHash3": return XxHash3.HashToUInt64(body);
            case "CRC-32C (BodyChecksum)": return BodyChecksum.Of(body).Hash;
            case "CRC-32C one lane": return OneLane(uint.MaxValue, body);
            case "SHA-256": SHA256.HashData(body, digest); break;
            case "SHA-1": SHA1.HashData(body, digest); break;
            case "MD5": MD5.HashData(body, digest); break;
            default: throw new ArgumentOutOfRangeException(nameof(candidate), candidate, null);
        }

        return MemoryMarshal.Read<ulong>(digest);
    }

    private static void Stream(string candidate, byte[] piece, long total)
    {
        switch (candidate)
        {
            case "XxHash3":
            case "CRC-32C (BodyChecksum)":
                var builder = candidate == "XxHash3" ? new BodyChecksum.Builder(BodyChecksumAlgorithm.XxHash3) : new BodyChecksum.Builder();
                for (long done = 0; done < total; done += piece.Length)
                {
                    builder.Append(piece);
                }

                GC.KeepAlive(builder.Current);
                return;
            case "CRC-32C one lane":
                var crc = uint.MaxValue;
                for (long done = 0; done < total; done += piece.Length)
                {
                    crc = OneLane(crc, piece);
                }

                GC.KeepAlive(crc);
                return;
            default:
                using (var hash = IncrementalHash.CreateHash(candidate switch { "SHA-256" => HashAlgorithmName.SHA256, "SHA-1" => HashAlgorithmName.SHA1, _ => HashAlgorithmName.MD5 }))
                {
                    for (long done = 0; done < total; done += piece.Length)
                    {
                        hash.AppendData(piece);
                    }

                    GC.KeepAlive(hash.GetHashAndReset());
                }

                return;
        }
    }

    // The loop BodyChecksum's three lanes replace: each instruction waits for the one before.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint OneLane(uint crc, ReadOnlySpan<byte> data)
    {
        ref var start = ref MemoryMarshal.GetReference(data);
        var i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            crc = BitOperations.Crc32C(crc, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i)));
        }

        for (; i < data.Length; i++)
        {
            crc = BitOperations.Crc32C(crc, Unsafe.Add(ref start, i));
        }

        return crc;
    }

    private static double Median(Span<double> values)
    {
        values.Sort();
        return values[values.Length / 2];
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
