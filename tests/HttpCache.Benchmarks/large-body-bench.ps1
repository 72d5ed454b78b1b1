#Requires -Version 7.4
<#
.SYNOPSIS
    The large-body benchmark (issue 14): a 1 GiB body through Invoke-CachedWebRequest -OutFile, against the same
    download uncached and a plain copy of the file.
.DESCRIPTION
    Never run by CI (the figures need a quiet machine and several GiB of free disk). Run by hand, after a Release build:
        dotnet pwsh ./build.ps1 -Task LargeBodyBenchmark              # build, then 1 GiB, one round
        dotnet pwsh tests/HttpCache.Benchmarks/large-body-bench.ps1 -SizeMiB 1024 -Rounds 3

    Every figure runs in a fresh pwsh process that imports the staged module (module/HttpCache.psd1), warms the
    path it measures up with a small download through the same call, then times one call with Stopwatch. A
    sampler thread in that process reads the working set every 2 ms: the figure's "memory" is its peak over the
    working set just before the call. "CPU s" is the process's processor time (user and kernel, every thread) over
    the call: on a busy machine it moves less than the wall clock. The origin's work is in this process, not there. The figures of one round run one after the other (interleaved):

        uncached      Invoke-WebRequest -OutFile (no cache)
        SQLite miss   Invoke-CachedWebRequest -OutFile, a new SQLite file, a session with -MaxBodySize 2GB
        SQLite hit    the same call in the next process, served from that file
        FS miss/hit   the same two with -Backend FileSystem
        copy          [IO.File]::Copy of the uncached download (the floor for a hit)
        SQLite floor  the same number of 1 MiB rows inserted into a new SQLite file with the store's journal
                      settings, one statement each, no HTTP: what storing any body in SQLite costs on this machine

    The origin is an HttpListener on 127.0.0.1 in this process, answering from its own threads: 200, the
    generated body (a repeating 1 MiB pattern) with its Content-Length and Cache-Control: max-age=3600 (any other
    path: 2 MiB of it, for the warm-up). Each output
    file is checked (length, SHA-256 in the first round) against the uncached download. Files are written under
    -Folder (the temporary folder by default) and deleted at the end; the run needs about 6x -SizeMiB free.
#>
[CmdletBinding()]
param(
    [int] $SizeMiB = 1024,
    [int] $Rounds = 1,
    [string] $Folder = [IO.Path]::GetTempPath(),
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '../../module/HttpCache.psd1'),

    # Internal: set when this script runs itself as the child that measures one figure.
    [string] $Figure
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$samplerSource = @'
using System;
using System.Diagnostics;
using System.Threading;
public sealed class WorkingSetSampler : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _peak;
    public long Baseline { get; }
    public long Peak => Interlocked.Read(ref _peak);
    public WorkingSetSampler()
    {
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        Baseline = Environment.WorkingSet;
        _peak = Baseline;
        _thread = new Thread(() => { while (!_stop) { Sample(); Thread.Sleep(2); } }) { IsBackground = true };
        _thread.Start();
    }
    private void Sample()
    {
        var now = Environment.WorkingSet;
        if (now > Interlocked.Read(ref _peak)) Interlocked.Exchange(ref _peak, now);
    }
    public void Dispose() { Sample(); _stop = true; _thread.Join(); }
}
'@

# ---------------------------------------------------------------- child: one figure in a fresh process
if ($Figure) {
    $spec = $Figure | ConvertFrom-Json
    Add-Type -TypeDefinition $samplerSource
    if ($spec.Kind -ne 'Copy') { Import-Module $ModuleManifest }
    $session = switch ($spec.Backend) {
        'Sqlite' { New-HttpCacheSession -Backend Sqlite -Path $spec.Store -MaxBodySize 2GB }
        'FileSystem' { New-HttpCacheSession -Backend FileSystem -Path $spec.Store -MaxBodySize 2GB }
        default { $null }
    }
    if ($spec.Kind -eq 'SqliteFloor') {
        # What any body stored in SQLite costs here: the store's journal settings, one 1 MiB row a statement, through
        # the module's own Microsoft.Data.Sqlite. No HTTP, no hashing, no output file.
        $null = New-HttpCacheSession -Backend Memory
        $context = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -eq 'HttpCache'
        $type = $context.LoadFromAssemblyName([Reflection.AssemblyName]'Microsoft.Data.Sqlite').GetType('Microsoft.Data.Sqlite.SqliteConnection')
        $connection = [Activator]::CreateInstance($type, [object[]]@("Data Source=$($spec.Store);Pooling=False"))
        $connection.Open()
        $setup = $connection.CreateCommand()
        $setup.CommandText = 'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 67108864; PRAGMA wal_autocheckpoint = 16384; CREATE TABLE chunks (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, data BLOB NOT NULL);'
        $null = $setup.ExecuteNonQuery()
        $insert = $connection.CreateCommand()
        $insert.CommandText = 'INSERT INTO chunks (seq, data) VALUES ($seq, $data)'
        $chunk = [byte[]]::new(1MB); [Random]::new(14).NextBytes($chunk)
        $seq = $insert.Parameters.AddWithValue('$seq', 0); $null = $insert.Parameters.AddWithValue('$data', $chunk)
        $sampler = [WorkingSetSampler]::new()
        $cpu = [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime
        $clock = [Diagnostics.Stopwatch]::StartNew()
        for ($i = 0; $i -lt $spec.SizeMiB; $i++) { $seq.Value = $i; $null = $insert.ExecuteNonQuery() }
        $connection.Close()
        $clock.Stop()
        $cpu = [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime - $cpu
        $sampler.Dispose()
        [pscustomobject]@{ Seconds = $clock.Elapsed.TotalSeconds; CpuSeconds = $cpu.TotalSeconds; BaselineMB = $sampler.Baseline / 1MB; OverMB = ($sampler.Peak - $sampler.Baseline) / 1MB; FromCache = $false; Length = (Get-Item $spec.Store).Length } | ConvertTo-Json -Compress
        return
    }

    $warmFile = "$($spec.Out).warm"
    $call = switch ($spec.Kind) {
        'Uncached' { { param($u, $f) Invoke-WebRequest -Uri $u -OutFile $f } }
        'Cached' { { param($u, $f) Invoke-CachedWebRequest -Uri $u -OutFile $f -Session $session } }
        'Copy' { { param($u, $f) [IO.File]::Copy($u, $f, $true) } }
    }
    # Warm-up: the same call on a 2 MiB body, past the 1 MiB above which the cache streams a body (twice when cached:
    # a miss, then a hit), so the timed call pays no JIT.
    if ($spec.Kind -eq 'Copy') {
        [IO.File]::WriteAllBytes($warmFile, [byte[]]::new(1MB)); & $call $warmFile "$warmFile.2"; Remove-Item "$warmFile.2"
    } else {
        & $call "$($spec.Origin)/small/$PID" $warmFile
        if ($session) { & $call "$($spec.Origin)/small/$PID" $warmFile }
    }
    Remove-Item $warmFile

    $before = if ($session) { Get-HttpCacheStats -Session $session }
    $source = if ($spec.Kind -eq 'Copy') { $spec.Source } else { "$($spec.Origin)/large" }
    $sampler = [WorkingSetSampler]::new()
    $cpu = [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime
    $clock = [Diagnostics.Stopwatch]::StartNew()
    & $call $source $spec.Out
    $clock.Stop()
    $cpu = [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime - $cpu
    $sampler.Dispose()
    $fromCache = if ($session) { (Get-HttpCacheStats -Session $session).Hits -gt $before.Hits } else { $false }
    if ($session) { $session.Dispose() }
    [pscustomobject]@{
        Seconds    = $clock.Elapsed.TotalSeconds
        CpuSeconds = $cpu.TotalSeconds
        BaselineMB = $sampler.Baseline / 1MB
        OverMB     = ($sampler.Peak - $sampler.Baseline) / 1MB
        FromCache  = $fromCache
        Length     = (Get-Item $spec.Out).Length
    } | ConvertTo-Json -Compress
    return
}

# ---------------------------------------------------------------- driver
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
. (Join-Path $PSScriptRoot 'BenchDriver.ps1')
$size = [long]$SizeMiB * 1MB

$free = ([IO.DriveInfo]::new([IO.Path]::GetPathRoot((Resolve-Path $Folder).Path))).AvailableFreeSpace
if ($free -lt 6 * $size + 512MB) { throw "Not enough free space under $Folder for the run: $([math]::Round($free / 1GB, 1)) GiB free, about $([math]::Round((6 * $size + 512MB) / 1GB, 1)) GiB needed." }

Add-Type -TypeDefinition @'
using System;
using System.Net;
public static class LargeBodyOrigin
{
    // Answers from listener threads, never from PowerShell: /large is the big body, anything else 1 KiB.
    public static HttpListener Start(int port, long size)
    {
        var pattern = new byte[1024 * 1024];
        new Random(14).NextBytes(pattern);
        var listener = new HttpListener();
        listener.Prefixes.Add("http://127.0.0.1:" + port + "/");
        listener.Start();
        AsyncCallback onContext = null;
        onContext = ar =>
        {
            HttpListenerContext context;
            try { context = listener.EndGetContext(ar); } catch (Exception) { return; }
            listener.BeginGetContext(onContext, null);
            try
            {
                var response = context.Response;
                var length = context.Request.Url.AbsolutePath == "/large" ? size : 2 * 1024 * 1024;
                response.ContentType = "application/octet-stream";
                response.Headers["Cache-Control"] = "max-age=3600";
                response.ContentLength64 = length;
                for (long sent = 0; sent < length; sent += pattern.Length)
                {
                    response.OutputStream.Write(pattern, 0, (int)Math.Min(pattern.Length, length - sent));
                }
                response.Close();
            }
            catch (Exception)
            {
                // The client went away; nothing to answer.
            }
        };
        listener.BeginGetContext(onContext, null);
        return listener;
    }
}
'@

$work = Join-Path $Folder "httpcache-large-$PID"
$null = New-Item -ItemType Directory -Force $work
$port = Get-FreePort
$listener = [LargeBodyOrigin]::Start($port, $size)
$origin = "http://127.0.0.1:$port"
$results = [System.Collections.Generic.List[object]]::new()
try {
    $loadBefore = if (Test-Path /proc/loadavg) { (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' ' }
    foreach ($round in 1..$Rounds) {
        $uncachedOut = Join-Path $work 'uncached.bin'
        $figures = @(
            @{ Name = 'uncached (Invoke-WebRequest)'; Kind = 'Uncached'; Backend = ''; Out = $uncachedOut }
            foreach ($b in 'Sqlite', 'FileSystem') {
                $store = Join-Path $work $(if ($b -eq 'Sqlite') { 'cache.db' } else { 'cache' })
                @{ Name = "$b miss"; Kind = 'Cached'; Backend = $b; Store = $store; Out = (Join-Path $work "$b-miss.bin"); Expect = 'miss' }
                @{ Name = "$b hit"; Kind = 'Cached'; Backend = $b; Store = $store; Out = (Join-Path $work "$b-hit.bin"); Expect = 'hit' }
            }
            @{ Name = 'copy ([IO.File]::Copy)'; Kind = 'Copy'; Backend = ''; Source = $uncachedOut; Out = (Join-Path $work 'copy.bin') }
            @{ Name = 'SQLite floor (1 MiB rows, no HTTP)'; Kind = 'SqliteFloor'; Backend = ''; Store = (Join-Path $work 'floor.db'); SizeMiB = $SizeMiB }
        )
        $expected = $null
        foreach ($f in $figures) {
            Write-Host "round $round/$Rounds  $($f.Name)"
            # The previous figure's gigabyte is otherwise still being written back while this one runs.
            if (-not $IsWindows) { sync }
            $r = Invoke-Figure (@{ Origin = $origin } + $f)
            if ($f.Kind -ne 'SqliteFloor' -and $r.Length -ne $size) { throw "$($f.Name) wrote $($r.Length) bytes, not $size." }
            if ($f.ContainsKey('Expect') -and $r.FromCache -ne ($f.Expect -eq 'hit')) { throw "$($f.Name) was not a $($f.Expect)." }
            if ($round -eq 1 -and $f.Kind -ne 'SqliteFloor') {
                $hash = (Get-FileHash $f.Out -Algorithm SHA256).Hash
                if ($null -eq $expected) { $expected = $hash } elseif ($hash -ne $expected) { throw "$($f.Name) wrote other bytes than the origin sent." }
            }
            $results.Add([pscustomobject]@{ Round = $round; Name = $f.Name; Seconds = $r.Seconds; CpuSeconds = $r.CpuSeconds; OverMB = $r.OverMB; BaselineMB = $r.BaselineMB })
            if ($f.Kind -notin 'Uncached', 'SqliteFloor') { Remove-Item $f.Out }
        }
        Remove-Item -Recurse -Force (Join-Path $work '*')
    }
    $loadAfter = if (Test-Path /proc/loadavg) { (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' ' }

    $median = @{}
    $names = $results.Name | Select-Object -Unique
    $table = foreach ($name in $names) {
        $runs = @($results | Where-Object Name -eq $name)
        $times = @($runs.Seconds | Sort-Object)
        $median[$name] = $m = $times[[int][math]::Floor(($times.Count - 1) / 2)]
        [pscustomobject]@{
            Figure          = $name
            'Median s'      = [math]::Round($m, 2)
            'Spread s'      = if ($times.Count -gt 1) { '{0:N2}–{1:N2}' -f $times[0], $times[-1] } else { '' }
            'MB/s'          = [math]::Round($size / 1MB / $m)
            'CPU s'         = [math]::Round((@($runs.CpuSeconds | Sort-Object))[[int][math]::Floor(($runs.Count - 1) / 2)], 2)
            'Peak over baseline MB' = [math]::Round(($runs.OverMB | Measure-Object -Maximum).Maximum, 1)
            'Baseline MB'   = [math]::Round(($runs.BaselineMB | Measure-Object -Average).Average)
        }
    }
    "`n$SizeMiB MiB, $Rounds round(s), median of the rounds (spread: their range; memory: the worst round). Load average before: $loadBefore; after: $loadAfter."
    $table | Format-Table -AutoSize | Out-String -Width 200

    $uncached = $median['uncached (Invoke-WebRequest)']; $copy = $median['copy ([IO.File]::Copy)']
    $maxOver = ($results | Where-Object Name -Match '^(Sqlite|FileSystem) ' | Measure-Object OverMB -Maximum).Maximum
    $ratio = { param($a, $b) [math]::Round($a / $b, 2) }
    @(
        [pscustomobject]@{ Target = "SQLite miss <= 1.5x uncached ($(& $ratio $median['Sqlite miss'] $uncached)x)"; Met = $median['Sqlite miss'] -le 1.5 * $uncached }
        [pscustomobject]@{ Target = "SQLite hit <= 2x copy ($(& $ratio $median['Sqlite hit'] $copy)x)"; Met = $median['Sqlite hit'] -le 2 * $copy }
        [pscustomobject]@{ Target = "FileSystem miss <= SQLite miss ($(& $ratio $median['FileSystem miss'] $median['Sqlite miss'])x)"; Met = $median['FileSystem miss'] -le $median['Sqlite miss'] }
        [pscustomobject]@{ Target = "FileSystem hit <= SQLite hit ($(& $ratio $median['FileSystem hit'] $median['Sqlite hit'])x)"; Met = $median['FileSystem hit'] -le $median['Sqlite hit'] }
        [pscustomobject]@{ Target = "Memory < 100 MB over baseline ($([math]::Round($maxOver, 1)) MB at most)"; Met = $maxOver -lt 100 }
    ) | Format-Table -AutoSize | Out-String -Width 200
}
finally {
    $listener.Stop()
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}
