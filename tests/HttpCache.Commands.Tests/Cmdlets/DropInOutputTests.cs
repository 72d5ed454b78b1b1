using System.Xml.Linq;
using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>HttpCache.DropIn and the drop-in cmdlets' declared outputs: the contract OutputTypeContractTests keeps for the other types.</summary>
public sealed class DropInOutputTests
{
    [Fact]
    public async Task DropInIsPublicSealedWithGetOnlyPropertiesAndATableView()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $t = [HttpCache.DropIn]
            $t.IsPublic; $t.IsSealed
            @($t.GetProperties() | Where-Object { $_.SetMethod -and $_.SetMethod.IsPublic }).Count
            $t.GetProperties() | ForEach-Object { $_.Name }
            """);

        Assert.Equal([true, true, 0], result.BaseOutput.Take(3));
        var properties = result.BaseOutput.Skip(3).Select(o => o.ToString()!).ToHashSet();
        Assert.Empty(new[] { "Enabled", "Session", "SessionName", "Scope", "Commands", "PassThroughParameters", "EnabledAt" }.Except(properties));

        var format = XDocument.Load(Path.Combine(RepoPaths.ModuleDirectory, "HttpCache.Format.ps1xml"));
        var view = Assert.Single(format.Descendants("View"), v => v.Element("ViewSelectedBy")?.Element("TypeName")?.Value == "HttpCache.DropIn");
        var columns = view.Descendants("PropertyName").Select(p => p.Value).ToArray();
        Assert.NotEmpty(columns);
        Assert.Empty(columns.Except(properties));
    }

    [Theory]
    [InlineData("Enable-HttpCache", "HttpCache.DropIn")]
    [InlineData("Disable-HttpCache", "System.Void")]
    [InlineData("Use-HttpCache", "System.Object")]
    [InlineData("Get-HttpCacheSession", "HttpCache.CacheSession,HttpCache.DropIn")]
    public async Task CmdletDeclaresItsOutputType(string command, string typeNames)
    {
        using var ps = PS.Open();
        var result = await ps.Ok("(Get-Command $c).OutputType | ForEach-Object { $_.Name }", ("c", command));

        Assert.Equal(typeNames.Split(','), result.BaseOutput);
    }

    [Fact]
    public async Task EveryPropertyReadsWhetherOnOrOff()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $off = Get-HttpCacheSession -DropIn
            $on = Enable-HttpCache -Session (New-HttpCacheSession -Backend Memory) -PassThru
            foreach ($o in $off, $on) {
                foreach ($p in $o.GetType().GetProperties()) {
                    try { $null = $p.GetValue($o) } catch { "$($p.Name): $_" }
                }
            }
            $off.ToString(); $on.Commands
            Disable-HttpCache
            """);

        Assert.Equal(["Off", "Invoke-WebRequest -> Invoke-CachedWebRequest", "Invoke-RestMethod -> Invoke-CachedRestMethod"], result.BaseOutput.Select(o => o.ToString()));
    }
}
