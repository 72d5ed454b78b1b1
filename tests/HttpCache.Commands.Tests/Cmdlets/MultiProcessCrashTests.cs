using System.Globalization;
using System.Text;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;
using Xunit.Abstractions;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Several pwsh processes share one cache (a SQLite file, a FileSystem folder) and are killed (SIGKILL) in the
/// middle of their work, round after round. Afterwards every entry must be byte-exact, none counted corrupt, and no
/// entry proven to have landed in the store (hit by a process that never fetched it) may be gone: a killed process
/// may lose only the writes it still had queued.
/// CI runs the small size below; HTTPCACHE_CRASH_PROCESSES and HTTPCACHE_CRASH_ROUNDS make a larger run, whose
/// figures docs/backends.md quotes.
/// </summary>
public sealed class MultiProcessCrashTests(OriginFixture fixture, ITestOutputHelper output) : IClassFixture<OriginFixture>
{
    private const int Urls = 120;
    private readonly TestOrigin origin = fixture.Origin;

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

    /// <summary>The body of /crash/n: "crash-n;" repeated; every 20th is 1.2 MiB, so it is streamed in pieces.</summary>
    private static string Body(int n)
    {
        var unit = $"crash-{n};";
        var length = n % 20 == 0 ? 1200 * 1024 : 1024 + (n * 37);
        return new StringBuilder(length + unit.Length).Insert(0, unit, (length / unit.Length) + 1).ToString(0, length);
    }

    private const string BodyFunction = """
        function body([int] $n) {
            $unit = "crash-$n;"
            $length = if ($n % 20 -eq 0) { 1200 * 1024 } else { 1024 + $n * 37 }
            ($unit * ([math]::Floor($length / $unit.Length) + 1)).Substring(0, $length)
        }
        """;

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("FileSystem")]
    public async Task Processes_killed_mid_work_leave_every_entry_byte_exact_and_lose_only_queued_writes(string backend)
    {
        var processes = Setting("HTTPCACHE_CRASH_PROCESSES", 3);
        var rounds = Setting("HTTPCACHE_CRASH_ROUNDS", 2);
        using var temp = new TempDirectory();
        var prefix = origin.NewPath("crash");
        for (var n = 0; n < Urls; n++)
        {
            var body = Body(n);
            origin.Map($"{prefix}/{n}", context => TestOrigin.WriteAsync(context, 200, body, new Dictionary<string, string> { ["Content-Type"] = "text/plain" }));
        }

        var baseUrl = origin.Url(prefix + "/").AbsoluteUri;
        var session = backend == "Sqlite"
            ? $"New-HttpCacheSession -Path '{temp.File("c.sqlite")}'"
            : $"New-HttpCacheSession -Backend FileSystem -Path '{temp.File("fs")}'";
        var kills = 0;
        for (var round = 0; round < rounds; round++)
        {
            var workers = Enumerable.Range(0, processes).Select(w => RunWorkerAsync(session, baseUrl, temp.File($"progress-{round}-{w}.log"), (round * 100) + w)).ToArray();
            kills += (await Task.WhenAll(workers)).Count(killed => killed);
        }

        var logs = Directory.EnumerateFiles(temp.Path, "progress-*.log").Select(File.ReadAllLines).SelectMany(lines => lines).ToList();
        var operations = logs.Count(line => line.Length > 0);
        var bad = logs.Count(line => line.StartsWith('B'));
        // Entries proven to have landed in the store (another process hit them), which nobody removes: none may go.
        var landed = logs.Where(line => line.StartsWith('D')).Select(line => int.Parse(line[2..], CultureInfo.InvariantCulture))
            .Where(n => n % 10 != 9).ToHashSet();

        var verify = await PwshProcess.RunCommandAsync(
            $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            {{BodyFunction}}
            $s = {{session}}
            $exact = 0; $wrong = 0; $present = @()
            foreach ($n in 0..{{Urls - 1}}) {
                $r = Invoke-CachedWebRequest -Uri "{{baseUrl}}$n" -Session $s -OnlyIfCached -SkipHttpErrorCheck
                if ($r.StatusCode -eq 200) { if ($r.Content -ceq (body $n)) { $exact++; $present += $n } else { $wrong++ } }
            }
            $stats = Get-HttpCacheStats -Session $s
            "RESULT=$exact $wrong $($stats.CorruptEntries)"
            "PRESENT=$($present -join ',')"
            """,
            timeout: TimeSpan.FromMinutes(3));
        verify.AssertSuccess();
        var result = verify.Value("RESULT")!.Split(' ').Select(int.Parse).ToArray();
        var present = (verify.Value("PRESENT") ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToHashSet();
        var lost = landed.Where(n => !present.Contains(n)).ToList();

        output.WriteLine($"{backend}: {processes} processes x {rounds} rounds, {operations} operations, {kills} kills, {result[0]} entries verified byte-exact, {result[1]} wrong, {result[2]} counted corrupt, {lost.Count} lost");
        Assert.Equal(processes * rounds, kills);
        Assert.True(operations >= processes * rounds * 5, $"the workers did too little before their kills: {operations} operations");
        Assert.Equal(0, bad);
        Assert.Equal(0, result[1]);
        Assert.Equal(0, result[2]);
        Assert.True(result[0] > 0, "entries survived the kills");
        Assert.Empty(lost);
    }

    /// <summary>
    /// One worker: requests random URLs (checking every body), removes some entries, and logs every operation; it is
    /// killed at a random point once it has done some work. True when it was killed (not ended on its own).
    /// </summary>
    private async Task<bool> RunWorkerAsync(string session, string baseUrl, string progress, int seed)
    {
        File.WriteAllText(progress, string.Empty);
        using var kill = new CancellationTokenSource();
        var script = $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            {{BodyFunction}}
            $s = {{session}}
            $rand = [Random]::new({{seed}})
            $mine = @{}
            while ($true) {
                $n = $rand.Next(0, {{Urls}})
                if ($n % 10 -eq 9 -and $rand.Next(0, 3) -eq 0) {
                    Remove-HttpCacheEntry -Session $s -Uri "{{baseUrl}}$n" -Confirm:$false
                    [IO.File]::AppendAllText('{{progress}}', "R $n`n")
                    continue
                }
                $r = Invoke-CachedWebRequest -Uri "{{baseUrl}}$n" -Session $s
                # D: a hit on a URL this process never fetched, so another process's write had landed in the store.
                $mark = if ($r.Content -cne (body $n)) { 'B' } elseif (-not $r.FromCache) { 'M' } elseif ($mine.ContainsKey($n)) { 'H' } else { 'D' }
                $mine[$n] = $true
                [IO.File]::AppendAllText('{{progress}}', "$mark $n`n")
            }
            """;
        var run = PwshProcess.RunCommandAsync(script, timeout: TimeSpan.FromMinutes(3), cancellationToken: kill.Token);

        // Killed once it has worked a while: after a random number of operations (more than startup noise).
        var target = 8 + new Random(seed).Next(0, 25);
        while (!run.IsCompleted && File.ReadAllLines(progress).Length < target)
        {
            await Task.WhenAny(run, Task.Delay(50));
        }

        if (run.IsCompleted)
        {
            // It ended on its own: a failure to report, not a kill.
            Assert.Fail("A worker ended before it was killed: " + (await run));
        }

        await kill.CancelAsync();
        // The runner kills the process (SIGKILL, the whole tree) and reports the cancellation.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        return true;
    }
}
