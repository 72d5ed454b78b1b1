<#
    A small local HTTP origin for the Pester suites (pwsh only: it runs in a thread job). Dot-source this file,
    then:

        $origin = Start-TestOrigin          # http://127.0.0.1:<port>
        ...
        Stop-TestOrigin $origin

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

function Start-TestOrigin {
    $listener = [System.Net.HttpListener]::new()
    $port = Get-Random -Minimum 20000 -Maximum 60000
    $listener.Prefixes.Add("http://127.0.0.1:$port/")
    $listener.Start()
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
    param([Parameter(Mandatory)] $Origin)
    $Origin.Listener.Stop()
    $Origin.Job | Remove-Job -Force
}

function New-TestUri {
    <# A URL on the origin under a route, unique to the caller. #>
    param([Parameter(Mandatory)] $Origin, [Parameter(Mandatory)] [string] $Route)
    "$($Origin.BaseUri)/$($Route.Trim('/'))/$([guid]::NewGuid().ToString('N'))"
}
