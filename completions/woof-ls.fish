complete -c woof-ls -s N -l namespace -d 'Namespace directory [default: $WOOF_NAMESPACE, else the current directory]' -r -F
complete -c woof-ls -l format -d 'Output format' -r -f -a "table\t'Aligned columns with a heading'
csv\t'name,element_size,history,latest,oldest,durability,schema,error with a header'
json\t'One JSON object per woof'
names\t'The names alone, one a line, without opening the woofs (for scripts and shell completions)'"
complete -c woof-ls -s h -l help -d 'Print help (see more with \'--help\')'
complete -c woof-ls -s V -l version -d 'Print version'
