using System.Text;

namespace HttpCache.PSHost;

/// <summary>What to run, from the command line.</summary>
internal sealed record HostOptions(string? Command, string? File, IReadOnlyList<string> FileArguments, bool Verbose, bool ShowHelp)
{
    /// <summary>The script text the runspace executes.</summary>
    internal string BuildScript()
    {
        if (Command is not null)
        {
            return Command;
        }

        // Invoke the file with PowerShell's own parameter binding: "-Name" tokens stay parameter
        // names, everything else is passed as a literal string, as pwsh -File does.
        var script = new StringBuilder("& ").Append(Quote(Path.GetFullPath(File!)));
        foreach (var argument in FileArguments)
        {
            script.Append(' ');
            var colon = argument.IndexOf(':', StringComparison.Ordinal);
            if (HostArguments.IsParameterToken(argument))
            {
                script.Append(argument);
            }
            else if (colon > 0 && HostArguments.IsParameterToken(argument[..(colon + 1)]))
            {
                // -Name:value; -Switch:$false stays a boolean, as with pwsh -File.
                var value = argument[(colon + 1)..];
                var isBoolean = value.Equals("$true", StringComparison.OrdinalIgnoreCase) || value.Equals("$false", StringComparison.OrdinalIgnoreCase);
                script.Append(argument[..(colon + 1)]).Append(isBoolean ? value : Quote(value));
            }
            else
            {
                script.Append(Quote(argument));
            }
        }

        // `exit N` inside the file ends only the file and sets $LASTEXITCODE: hand it on as ours.
        return "$global:LASTEXITCODE = 0\n" + script + "\nexit $global:LASTEXITCODE";
    }

    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}

internal static class HostArguments
{
    internal const string Usage = """
        usage: HttpCache.PSHost [-Verbose] -Command <script...>
               HttpCache.PSHost [-Verbose] -File <path.ps1> [arguments...]
          -Command   runs the rest of the command line as one script (the arguments are joined with spaces)
          -File      runs a script file; "-Name value" pairs bind to its parameters
          -Verbose   sets $VerbosePreference = 'Continue'
          -NoProfile, -NonInteractive, -NoLogo and -ExecutionPolicy <p> are accepted and ignored,
          so pwsh command lines work unchanged.
        exit code: 1 when the script throws or an error stops it ($ErrorActionPreference is 'Stop'),
                   N for 'exit N', 0 otherwise.
        """;

    internal static bool TryParse(IReadOnlyList<string> args, out HostOptions options, out string? problem)
    {
        var verbose = false;
        options = new HostOptions(null, null, [], false, false);
        problem = null;

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (Is(arg, "-Command", "-c"))
            {
                if (i + 1 >= args.Count)
                {
                    problem = "-Command needs a script.";
                    return false;
                }

                options = new HostOptions(string.Join(' ', args.Skip(i + 1)), null, [], verbose, false);
                return true;
            }

            if (Is(arg, "-File", "-f"))
            {
                if (i + 1 >= args.Count)
                {
                    problem = "-File needs a path.";
                    return false;
                }

                if (!System.IO.File.Exists(args[i + 1]))
                {
                    problem = $"-File: '{args[i + 1]}' does not exist.";
                    return false;
                }

                options = new HostOptions(null, args[i + 1], args.Skip(i + 2).ToArray(), verbose, false);
                return true;
            }

            if (Is(arg, "-Verbose"))
            {
                verbose = true;
            }
            else if (Is(arg, "-ExecutionPolicy", "-ep"))
            {
                i++; // value ignored: the host always runs Unrestricted
            }
            else if (Is(arg, "-NoProfile", "-NonInteractive", "-NoLogo", "-nop", "-noni"))
            {
                // accepted for pwsh compatibility
            }
            else if (Is(arg, "-Help", "-h", "-?", "/?", "--help"))
            {
                options = options with { ShowHelp = true };
                return true;
            }
            else
            {
                problem = $"Unknown argument '{arg}'.";
                return false;
            }
        }

        problem = "Nothing to run: give -Command or -File.";
        return false;
    }

    /// <summary>True for a token PowerShell would read as a parameter name: -Name or -Name:.</summary>
    internal static bool IsParameterToken(string token)
    {
        if (token.Length < 2 || token[0] != '-' || !(char.IsLetter(token[1]) || token[1] == '_'))
        {
            return false;
        }

        var end = token.EndsWith(':') ? token.Length - 1 : token.Length;
        for (var i = 2; i < end; i++)
        {
            if (!(char.IsLetterOrDigit(token[i]) || token[i] == '_'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Is(string arg, params string[] names)
    {
        var normalized = arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2 ? arg[1..] : arg;
        return names.Any(n => string.Equals(n, normalized, StringComparison.OrdinalIgnoreCase));
    }
}
