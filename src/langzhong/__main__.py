from langzhong.cli import main

main()
