<#
    Shared by every Pester suite in this folder (pwsh 7.4+ with Pester 5; build.ps1 -Task Pester runs them all).
    Dot-source it in BeforeAll:

        BeforeAll {
            . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
            $script:manifest = Import-TestModule      # the staged module; returns its manifest path
            $script:origin = Start-TestOrigin         # a local origin: $script:origin.BaseUri is http://127.0.0.1:<port>
        }
        AfterAll { Stop-TestOrigin $script:origin }   # safe when BeforeAll failed before the origin started

    New-TestUri $script:origin counter gives a URL no other test uses; New-ScratchSession a session no other test
    uses (in memory, or a SQLite file in TestDrive).

    The origin answers on 127.0.0.1 and on localhost (a second host name for the per-host tests).
    Routes (anything after the route's prefix makes a distinct URL, so tests never share entries):
        /counter/...       200 text/plain; the body counts the requests to that exact path: 1, 2, 3...
        /slow/...          as /counter, after 200 ms
        /etag/...          as /counter with ETag "v1"; 304 when If-None-Match names it
        /status/<code>/... that status, with the counter body
        /json/...          200 application/json  {"name":"Ada","id":7,"tags":["math","engines"]}
        /json-array/...    200 application/json  [{"n":1},{"n":2},{"n":3}]
        /xml/...           200 application/xml   <catalog><book id="1"><title>One</title></book><book id="2"><title>Two</title></book></catalog>
        /users/<id>        200 application/json  {"id":<id>,"name":"User <id>"} (id 1 is "Ada")
    The xunit tests serve the same answers from Kestrel (tests/HttpCache.Commands.Tests/Cmdlets/PesterScenarioTests.cs).
#>

function Import-TestModule {
    <# Imports the module under test: $env:HTTPCACHE_MODULE_MANIFEST (build.ps1 sets it) or the staged module/. #>
    $manifest = if ($env:HTTPCACHE_MODULE_MANIFEST) { $env:HTTPCACHE_MODULE_MANIFEST } else {
        Join-Path $PSScriptRoot '../../module/HttpCache.psd1' | Resolve-Path | ForEach-Object Path
    }
    Import-Module $manifest -Force -Global
    $manifest
}

function New-ScratchSession {
    <# A session for one test only, with a unique name: in memory, or a SQLite file in TestDrive. #>
    param(
        [ValidateSet('Memory', 'Sqlite')]
        [string] $Backend = 'Memory',

        # More New-HttpCacheSession parameters, e.g. @{ AllowedStatusCodes = 200, 404 }.
        [hashtable] $With = @{}
    )
    $name = "scratch-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
    $location = if ($Backend -eq 'Sqlite') { @{ Path = Join-Path $TestDrive "$name.sqlite" } } else { @{} }
    New-HttpCacheSession -Name $name -Backend $Backend @location @With
}

function Invoke-Pwsh {
    <#
        Runs pwsh with these arguments in a fresh process: the same PowerShell as this one, also when it runs
        as `dotnet pwsh.dll` (the repository's .NET tool), where no pwsh need be on PATH.
    #>
    $exe = [Environment]::ProcessPath
    [string[]] $assembly = if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { [System.Reflection.Assembly]::GetEntryAssembly().Location } else { @() }
    & $exe @assembly -NoProfile -NonInteractive @args
}

function Invoke-PwshScript {
    <#
        Runs a script in a fresh pwsh (as Invoke-Pwsh) with extra environment variables, and returns its exit
        code, stdout and stderr. A run longer than -TimeoutSeconds is killed and reported as TimedOut.
    #>
    param(
        [Parameter(Mandatory)] [string] $Script,
        [hashtable] $Environment = @{},
        [string] $WorkingDirectory = $PWD.ProviderPath,
        [int] $TimeoutSeconds = 120
    )
    $exe = [Environment]::ProcessPath
    $start = [System.Diagnostics.ProcessStartInfo]::new($exe)
    if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $start.ArgumentList.Add([System.Reflection.Assembly]::GetEntryAssembly().Location) }
    # -EncodedCommand: the script reaches pwsh as written, whatever quotes and lines it has.
    $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($Script))
    foreach ($argument in '-NoLogo', '-NoProfile', '-NonInteractive', '-OutputFormat', 'Text', '-EncodedCommand', $encoded) { $start.ArgumentList.Add($argument) }
    $start.WorkingDirectory = $WorkingDirectory
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $start.RedirectStandardInput = $true
    $start.UseShellExecute = $false
    $start.Environment['NO_COLOR'] = '1'
    foreach ($name in $Environment.Keys) { $start.Environment[$name] = $Environment[$name] }

    $process = [System.Diagnostics.Process]::Start($start)
    try {
        $process.StandardInput.Close()
        $stdout = $process.StandardOutput.ReadToEndAsync()
        $stderr = $process.StandardError.ReadToEndAsync()
        $timedOut = -not $process.WaitForExit($TimeoutSeconds * 1000)
        if ($timedOut) { $process.Kill($true) }
        $process.WaitForExit()
        [pscustomobject]@{
            ExitCode = if ($timedOut) { -1 } else { $process.ExitCode }
            TimedOut = $timedOut
            StdOut   = $stdout.GetAwaiter().GetResult()
            StdErr   = $stderr.GetAwaiter().GetResult()
        }
    }
    finally {
        $process.Dispose()
    }
}

function Start-TestOrigin {
    # A random port may be taken: try a few. HttpListener answers only the host names of its prefixes.
    for ($attempt = 1; ; $attempt++) {
        $port = Get-Random -Minimum 20000 -Maximum 60000
        $listener = [System.Net.HttpListener]::new()
        $listener.Prefixes.Add("http://127.0.0.1:$port/")
        $listener.Prefixes.Add("http://localhost:$port/")
        try {
            $listener.Start()
            break
        }
        catch [System.Net.HttpListenerException] {
            $listener.Close()
            if ($attempt -ge 5) { throw }
        }
    }
    $job = Start-ThreadJob -ArgumentList $listener -ScriptBlock {
        param($listener)
        $counts = @{}
        while ($listener.IsListening) {
            try { $context = $listener.GetContext() } catch { break }
            $request = $context.Request
            $response = $context.Response
            $path = $request.Url.AbsolutePath
            $counts[$path] = 1 + [int]$counts[$path]
            $status = 200
            $type = 'text/plain; charset=utf-8'
            $body = "$($counts[$path])"
            switch -Regex ($path) {
                '^/slow/' { Start-Sleep -Milliseconds 200 }
                '^/etag/' {
                    $response.Headers['ETag'] = '"v1"'
                    if ($request.Headers['If-None-Match'] -eq '"v1"') { $status = 304; $body = '' }
                }
                '^/status/(\d+)/' { $status = [int]$Matches[1] }
                '^/json/' { $type = 'application/json'; $body = '{"name":"Ada","id":7,"tags":["math","engines"]}' }
                '^/json-array/' { $type = 'application/json'; $body = '[{"n":1},{"n":2},{"n":3}]' }
                '^/xml/' { $type = 'application/xml'; $body = '<catalog><book id="1"><title>One</title></book><book id="2"><title>Two</title></book></catalog>' }
                '^/users/(\d+)$' {
                    $type = 'application/json'
                    $name = if ($Matches[1] -eq '1') { 'Ada' } else { "User $($Matches[1])" }
                    $body = "{""id"":$($Matches[1]),""name"":""$name""}"
                }
            }
            $response.StatusCode = $status
            if ($status -ne 304) {
                $response.ContentType = $type
                $bytes = [System.Text.Encoding]::UTF8.GetBytes($body)
                $response.OutputStream.Write($bytes, 0, $bytes.Length)
            }
            $response.Close()
        }
    }
    [pscustomobject]@{ BaseUri = "http://127.0.0.1:$port"; Listener = $listener; Job = $job }
}

function Stop-TestOrigin {
    <# Stops the listener, lets the job's loop end, then removes the finished job. Does nothing for $null. #>
    param([AllowNull()] $Origin)
    if ($null -eq $Origin) { return }
    # Closing the listener ends the job's GetContext() with an error, and so its loop. Removing a job that is
    # still running (Remove-Job -Force) races with that end and throws PSObjectDisposedException.
    $Origin.Listener.Close()
    if (-not ($Origin.Job | Wait-Job -Timeout 30)) {
        throw "The test origin's job did not end within 30 s of closing its listener (state $($Origin.Job.State))."
    }
    $Origin.Job | Remove-Job
}

function New-TestUri {
    <# A URL on the origin under a route, unique to the caller. #>
    param([Parameter(Mandatory)] $Origin, [Parameter(Mandatory)] [string] $Route)
    "$($Origin.BaseUri)/$($Route.Trim('/'))/$([guid]::NewGuid().ToString('N'))"
}
