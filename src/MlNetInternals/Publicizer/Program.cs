// Writes a copy of a .NET assembly in which every type is public, internal members are public and
// private-protected members are protected. Only the compiler sees these copies: at run time the real
// ML.NET assemblies load, and IgnoresAccessChecksToAttribute tells the runtime to allow the access.
using System;
using System.IO;
using Mono.Cecil;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: MlnetLstm.Publicizer <input.dll> <output.dll>");
    return 2;
}

var input = args[0];
var output = args[1];
var resolver = new DefaultAssemblyResolver();
resolver.AddSearchDirectory(Path.GetDirectoryName(Path.GetFullPath(input))!);
using (var assembly = AssemblyDefinition.ReadAssembly(input, new ReaderParameters { AssemblyResolver = resolver }))
{
    foreach (var type in assembly.MainModule.GetTypes())
    {
        if (type.IsNested)
            type.IsNestedPublic = true;
        else
            type.IsPublic = true;

        foreach (var method in type.Methods)
        {
            if (method.IsAssembly)
                method.IsPublic = true;
            else if (method.IsFamilyAndAssembly)
                method.IsFamily = true;
        }

        foreach (var field in type.Fields)
        {
            if (field.IsAssembly)
                field.IsPublic = true;
            else if (field.IsFamilyAndAssembly)
                field.IsFamily = true;
        }
    }

    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
    assembly.Write(output);
}

return 0;
