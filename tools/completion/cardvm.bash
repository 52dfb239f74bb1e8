# bash completion for cardvm. Commands, campaign roles and options are read
# from the help texts (`cardvm --help`, `cardvm COMMAND [ROLE] --help`), the
# same source as the man pages, so they never drift from the program.
# Installed as share/bash-completion/completions/cardvm.

_cardvm_options()
{
    "$@" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

_cardvm()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prog=${COMP_WORDS[0]} cmd="" role="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        -*) ;;
        *)
            if [[ -z $cmd ]]; then
                cmd=${COMP_WORDS[i]}
                [[ $cmd == campaign ]] || break
            elif [[ -z $role ]]; then
                role=${COMP_WORDS[i]}
                break
            fi
            ;;
        esac
    done
    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--trace --help --version" -- "$cur"))
        else
            local cmds
            cmds=$("$prog" --help 2>/dev/null |
                awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
            COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
        fi
        return 0
    fi
    if [[ $cmd == campaign && -z $role && $cur != -* ]]; then
        local roles
        roles=$("$prog" campaign --help 2>/dev/null | awk '/^  [0-9] [a-z]/ { print $2 }')
        COMPREPLY=($(compgen -W "$roles" -- "$cur"))
        return 0
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_cardvm_options "$prog" $cmd $role) --help" -- "$cur"))
        return 0
    fi
    COMPREPLY=($(compgen -f -- "$cur"))   # images, scripts, CAP and package files
    return 0
}
complete -o filenames -o bashdefault -F _cardvm cardvm
