using System.Diagnostics;
using System.Text.Json;

namespace HttpCache.Commands.Tests.Infrastructure;

/// <summary>
/// The PowerShell .NET tool that .config/dotnet-tools.json pins: where its pwsh.dll is in the NuGet
/// packages folder. On a fresh clone the package is not there yet, so the first use runs
/// <c>dotnet tool restore</c> once (what README and .ci/run do anyway); when the tool was restored into
/// another packages folder, the tool itself says where its pwsh.dll is.
/// </summary>
public static class PwshTool
{
    private static readonly Lazy<string> s_assembly = new(Locate, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The tool manifest: the one place the PowerShell version is written.</summary>
    public static string Manifest => Path.Combine(RepoPaths.Root, ".config", "dotnet-tools.json");

    /// <summary>The PowerShell version the manifest pins.</summary>
    public static string Version
    {
        get
        {
            using var manifest = JsonDocument.Parse(File.ReadAllText(Manifest));
            foreach (var tool in manifest.RootElement.GetProperty("tools").EnumerateObject())
            {
                if (tool.Name.Equals("powershell", StringComparison.OrdinalIgnoreCase))
                {
                    return tool.Value.GetProperty("version").GetString()!;
                }
            }

            throw new InvalidOperationException($"{Manifest} pins no 'powershell' tool.");
        }
    }

    /// <summary>pwsh.dll of the pinned version, restored if it was missing.</summary>
    public static string Assembly => s_assembly.Value;

    private static string Locate()
    {
        var version = Version;
        if (Find(version) is { } found)
        {
            return found;
        }

        var restore = Run(DotnetHost.Path, "tool", "restore");
        if (Find(version) is { } restored)
        {
            return restored;
        }

        // The tool may live in another packages folder than this process's (dotnet remembers where it restored
        // each tool): ask the tool itself where its pwsh.dll is.
        var asked = Run(DotnetHost.Path, "pwsh", "-NoLogo", "-NoProfile", "-NonInteractive", "-Command", "[Console]::Out.Write([System.IO.Path]::Combine($PSHOME, 'pwsh.dll'))");
        var reported = asked.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.EndsWith("pwsh.dll", StringComparison.Ordinal));
        return reported is not null && File.Exists(reported) ? reported : throw new InvalidOperationException(
            $"PowerShell {version} (the .NET tool pinned in .config/dotnet-tools.json) is not in '{PackagesFolder()}', " +
            $"and 'dotnet tool restore' did not bring it. Run 'dotnet tool restore' in {RepoPaths.Root}.{Environment.NewLine}{restore}{Environment.NewLine}{asked}");
    }

    /// <summary>tools/&lt;tfm&gt;/any/&lt;unix|win&gt;/pwsh.dll in the tool's package (the launcher sits one folder up).</summary>
    private static string? Find(string version)
    {
        var tools = Path.Combine(PackagesFolder(), "powershell", version.ToLowerInvariant(), "tools");
        if (!Directory.Exists(tools))
        {
            return null;
        }

        var platform = OperatingSystem.IsWindows() ? "win" : "unix";
        return Directory.GetDirectories(tools)
            .OrderDescending(StringComparer.Ordinal)
            .Select(tfm => Path.Combine(tfm, "any", platform, "pwsh.dll"))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>NuGet's global packages folder, where <c>dotnet tool restore</c> puts local tools.</summary>
    private static string PackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static string Run(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start " + fileName);
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return $"exit code {process.ExitCode}{Environment.NewLine}{stdout}{Environment.NewLine}{stderr.Result}";
    }
}

/// <summary>The dotnet muxer running these tests (so children use the same SDK's runtimes).</summary>
public static class DotnetHost
{
    private static readonly Lazy<string> s_path = new(Find);

    public static string Path => s_path.Value;

    private static string Find()
    {
        var current = Environment.ProcessPath;
        if (current is not null && System.IO.Path.GetFileNameWithoutExtension(current).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return current;
        }

        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root)
        {
            var candidate = System.IO.Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return "dotnet";
    }
}
