using System.Globalization;
using HttpCache.Commands.Tests.Cmdlets;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Packaging;

/// <summary>
/// The in-process runspaces host the full PowerShell SDK (Microsoft.PowerShell.SDK), so test scripts use the
/// built-in commands a user's pwsh has, beside the module's own.
/// </summary>
public sealed class HostedSdkTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task TheRunspaceIsTheSdksPowerShellWithItsUtilityCommands()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $PSVersionTable.PSVersion.ToString()
            '{"name":"Ada","tags":["math","engines"]}' | ConvertFrom-Json | Select-Object -ExpandProperty tags | Measure-Object | ForEach-Object Count
            [pscustomobject]@{ Name = 'n1'; Size = 42 } | Format-List | Out-String -Width 80
            (Get-Command Invoke-WebRequest, Invoke-RestMethod, Get-Content, Start-Sleep, ConvertTo-Json).Count
            """);

        var output = result.BaseOutput.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)!).ToArray();
        Assert.Equal(PwshTool.Version, output[0]); // the SDK and the pwsh tool are one version
        Assert.Equal("2", output[1]);
        Assert.Contains("Size : 42", output[2], StringComparison.Ordinal);
        Assert.Equal("5", output[3]);
    }

    [Fact]
    public async Task BuiltInWebCmdletsAndTheModulesCmdletsGiveTheSameBody()
    {
        var path = origin.NewPath("sdk");
        origin.Respond(path, 200, new Dictionary<string, string> { ["Content-Type"] = "application/json" }, """{"id":7}""");
        using var ps = PS.Open(origin);

        var result = await ps.Ok("""
            $u = $origin.TrimEnd('/') + $p
            (Invoke-RestMethod $u).id
            (Invoke-CachedRestMethod $u -Session (New-HttpCacheSession -Backend Memory)).id
            """, ("p", path));

        Assert.Equal(["7", "7"], result.BaseOutput.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)));
        Assert.Equal(2, origin.RequestCount(path));
    }
}
